# Ocean's DDOs at /data/ddos/{did}: the legacy service[] entry of type metadata lists the files
# (attributes.main.files, by index); the v4 metadata and services name the asset and its service.
import hashlib, json, os


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


result = {"datasets": {}}
for did in json.loads(os.environ["DIDS"]):
    with open(f"/data/ddos/{did}") as f:
        ddo = json.load(f)
    main = next(s for s in ddo["service"] if s["type"] == "metadata")["attributes"]["main"]
    service = next(s for s in ddo["services"] if s["type"] == "compute")
    files = []
    for entry in main["files"]:
        files.append({
            "index": entry["index"],
            "name": entry["name"],
            "legacyMatches": sha256(f"/data/inputs/{did}/{entry['index']}") == entry["checksum"],
            "serviceMatches": sha256(f"/data/inputs/{did}/{service['id']}/{entry['name']}") == entry["checksum"],
        })
    result["datasets"][did] = {"id": ddo["id"], "type": ddo["metadata"]["type"], "legacyType": main["type"], "name": ddo["metadata"]["name"], "service": service["id"], "files": files}
with open(f"/data/ddos/{os.environ['TRANSFORMATION_DID']}") as f:
    algo = json.load(f)
legacy = next(s for s in algo["service"] if s["type"] == "metadata")["attributes"]["main"]
result["algorithm"] = {
    "type": algo["metadata"]["type"],
    "image": algo["metadata"]["algorithm"]["container"]["image"],
    "checksum": algo["metadata"]["algorithm"]["container"]["checksum"],
    "codeMatches": legacy["files"][0]["checksum"] == sha256(os.environ["ALGO"]),
}
with open("/data/outputs/result.json", "w") as out:
    json.dump(result, out, sort_keys=True)
