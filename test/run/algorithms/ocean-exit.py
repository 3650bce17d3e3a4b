# An algorithm that fails: it writes part of its output, says why on stderr, and exits 3.
import json, sys

with open("/data/outputs/result.json", "w") as out:
    json.dump({"partial": True}, out)
print("giving up: the data does not fit the model", file=sys.stderr)
sys.exit(3)
