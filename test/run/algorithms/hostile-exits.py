# Hostile: tries every exit channel out of the pod but the sealed outputs' content, by mode
# (algoCustomData.json "mode"; "secret" is a number it tries to get out in public metadata).
import base64, gzip, json, os, sys

params = json.load(open("/data/inputs/algoCustomData.json"))
mode = params["mode"]
data = open("/data/inputs/patients.csv", "rb").read() if os.path.exists("/data/inputs/patients.csv") else b""
text = data.decode()
rows = text.splitlines()[1:]


def out(name, content, binary=False):
    with open(f"/data/outputs/{name}", "wb" if binary else "w") as f:
        f.write(content)


if mode == "disguised":
    # The rows, re-encoded five ways a naive check misses.
    out("cr-only.txt", "\r".join(rows))
    out("zero-width.txt", "\n".join("\u200b".join(r) for r in rows))
    out("nbsp.txt", "\n".join(r.replace(",", "\u00a0") for r in rows))
    out("fullwidth.txt", "\n".join("".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in r) for r in rows))
    out("quoted.json", json.dumps([["'%s'" % f for f in reversed(r.split(","))] for r in rows]))
elif mode == "single-column":
    out("contacts.txt", open("/data/inputs/emails.txt").read().upper())
elif mode == "log-encodings":
    # A base64 of the gzipped input as "debug output", then the gzip itself.
    print("debug:", base64.b64encode(gzip.compress(data)).decode(), flush=True)
    sys.stdout.buffer.write(gzip.compress(data))
elif mode == "huge-log":
    for i in range(80_000):
        print(f"{i:08d} " + "x" * 60)
    with open("/data/logs/extra.log", "w") as f:
        f.write(text)
elif mode == "metadata":
    # The secret in everything public a run used to show: exit code, file names, number and sizes of files.
    secret = int(params["secret"])
    for i in range(secret % 7 + 1):
        out(f"part-{secret}-{i}.txt", "y" * (secret * 10))
    print(f"secret {secret}")
    sys.exit(secret)
elif mode == "ignore-k":
    # Counts per row: groups of one, whatever k the contract sets.
    lines = ["region,n,age"] + [f"{r.split(',')[2]},1,{r.split(',')[0]}" for r in rows]
    out("aggregates.csv", "\n".join(lines) + "\n")
elif mode == "keep-k":
    out("aggregates.csv", f"region,n\nall,{len(rows) * 10}\n")
    print("one group")
