# Ocean's own line-count example, as Ocean's docs give it: the job's files from DIDS and the DDOs'
# legacy service[] entry, the count of non-blank lines of the first file, written to
# /data/outputs/result (a name without an extension). And what real algorithms also do: scratch
# files in the working directory (a checkpoint in a folder of its own, a temporary file), read back
# later, and relative data/... paths, as Ocean runs the algorithm from /.
import json
import os


def get_job_details():
    job = {"dids": json.loads(os.getenv("DIDS", None)), "files": {}}
    for did in job["dids"]:
        with open("/data/ddos/" + did) as json_file:
            ddo = json.load(json_file)
        for service in ddo["service"]:
            if service["type"] == "metadata":
                job["files"][did] = ["/data/inputs/" + did + "/" + str(i) for i, _ in enumerate(service["attributes"]["main"]["files"])]
    return job


job = get_job_details()
first_did = job["dids"][0]
non_blank_count = 0
with open(job["files"][first_did][0]) as infp:
    for line in infp:
        if line.strip():
            non_blank_count += 1

os.makedirs("checkpoints", exist_ok=True)
with open("checkpoints/count.txt", "w") as f:
    f.write(str(non_blank_count))
with open("scratch.tmp", "wb") as f:
    f.write(b"\0" * 4096)
with open("checkpoints/count.txt") as f:
    restored = int(f.read())
with open("data/inputs/" + first_did + "/0") as f:
    relative = sum(1 for line in f if line.strip())

f = open("/data/outputs/result", "w")
f.write(str(non_blank_count))
f.close()
with open("data/outputs/details.json", "w") as out:
    json.dump({"cwd": os.getcwd(), "scratch": sorted(os.listdir(".")), "restored": restored, "relative": relative}, out, sort_keys=True)
