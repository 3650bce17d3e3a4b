# Hostile: tries to change the data it was given (through every path it is visible at), the DDOs,
# its own code and the image, and records the error of each attempt.
import errno, json, os

did = json.loads(os.environ["DIDS"])[0]


def attempt(fn):
    try:
        fn()
        return "done"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))


def append(path):
    with open(path, "a") as f:
        f.write("99,F,north,X,1\n")


def truncate(path):
    open(path, "w").close()


result = {
    "append service path": attempt(lambda: append(f"/data/inputs/{did}/compute/patients.csv")),
    "append legacy path": attempt(lambda: append(f"/data/inputs/{did}/0")),
    "truncate flat path": attempt(lambda: truncate("/data/inputs/patients.csv")),
    "append mount": attempt(lambda: append("/datomspod/inputs/0/patients.csv")),
    "chmod mount": attempt(lambda: os.chmod("/datomspod/inputs/0/patients.csv", 0o666)),
    "unlink flat path": attempt(lambda: os.unlink("/data/inputs/patients.csv")),
    "rename mount": attempt(lambda: os.rename("/datomspod/inputs/0/patients.csv", "/data/outputs/patients.csv")),
    "create in inputs": attempt(lambda: truncate("/data/inputs/extra.csv")),
    "replace parameters": attempt(lambda: truncate("/data/inputs/algoCustomData.json")),
    "write ddo": attempt(lambda: truncate(f"/data/ddos/{did}")),
    "write own code": attempt(lambda: truncate("/data/transformations/algorithm")),
    "write image": attempt(lambda: append("/etc/passwd")),
    "write supervisor": attempt(lambda: truncate("/datomspod/bin/supervise")),
    "write verdict": attempt(lambda: truncate("/datomspod/verified/inputs-verified")),
}
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
