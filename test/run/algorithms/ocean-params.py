# Consumer parameters in /data/inputs/algoCustomData.json: counts of patients by the requested
# column, groups smaller than minGroupSize suppressed.
import csv, json

with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
counts = {}
with open("/data/inputs/patients.csv", newline="") as f:
    for row in csv.DictReader(f):
        counts[row[params["groupBy"]]] = counts.get(row[params["groupBy"]], 0) + 1
with open("/data/outputs/result.json", "w") as out:
    json.dump({"params": params, "counts": {k: v for k, v in counts.items() if v >= params["minGroupSize"]}}, out, sort_keys=True)
