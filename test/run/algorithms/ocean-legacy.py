# Ocean's legacy layout: the files of an input at /data/inputs/{did}/0, /1, ... in the DDO's order.
import hashlib, json, os

result = {}
for did in json.loads(os.environ["DIDS"]):
    hashes = []
    index = 0
    while os.path.exists(f"/data/inputs/{did}/{index}"):
        with open(f"/data/inputs/{did}/{index}", "rb") as f:
            hashes.append(hashlib.sha256(f.read()).hexdigest())
        index += 1
    result[did] = hashes
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
