# Ocean's environment: DIDS (a JSON list), TRANSFORMATION_DID, and the code itself at $ALGO.
import hashlib, json, os, sys

with open(os.environ["ALGO"], "rb") as f:
    code = f.read()
with open("/data/outputs/result.json", "w") as out:
    json.dump({
        "dids": json.loads(os.environ["DIDS"]),
        "transformationDid": os.environ["TRANSFORMATION_DID"],
        "algo": os.environ["ALGO"],
        "argv": sys.argv,
        "codeSha256": hashlib.sha256(code).hexdigest(),
        "cwd": os.getcwd(),
        "uid": os.getuid(),
    }, out, sort_keys=True)
