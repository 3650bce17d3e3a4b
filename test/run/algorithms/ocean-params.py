# Consumer parameters in /data/inputs/algoCustomData.json: counts of patients by the requested
# column, groups smaller than minGroupSize suppressed. And, as an Ocean algorithm may, the
# parameters its DDO declares (metadata.algorithm.consumerParameters), each with its default.
import csv, json, os

with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
with open("/data/ddos/" + os.environ["TRANSFORMATION_DID"]) as f:
    declared = json.load(f)["metadata"]["algorithm"]["consumerParameters"]
counts = {}
with open("/data/inputs/patients.csv", newline="") as f:
    for row in csv.DictReader(f):
        counts[row[params["groupBy"]]] = counts.get(row[params["groupBy"]], 0) + 1
with open("/data/outputs/result.json", "w") as out:
    json.dump({"params": params, "declared": declared, "counts": {k: v for k, v in counts.items() if v >= params["minGroupSize"]}}, out, sort_keys=True)
