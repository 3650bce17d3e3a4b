# Ocean's flat layout: every input file at /data/inputs/<original file name>.
import hashlib, json, os

result = {}
for name in sorted(os.listdir("/data/inputs")):
    path = os.path.join("/data/inputs", name)
    if name != "algoCustomData.json" and os.path.isfile(path):
        with open(path, "rb") as f:
            result[name] = hashlib.sha256(f.read()).hexdigest()
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
