"""Aggregate statistics per region over the hospital's patient table.

An Ocean Compute-to-Data style algorithm: inputs under /data/inputs/<did>/0, parameters in
/data/inputs/algoCustomData.json, results in /data/outputs, nothing else leaves. Groups smaller
than minGroupSize are suppressed, so no row of the input can be read back from the output.
"""
import csv
import json
import os
import sys

params = {"groupBy": "region", "minGroupSize": 10}
custom = "/data/inputs/algoCustomData.json"
if os.path.exists(custom):
    with open(custom) as f:
        params.update(json.load(f))

group_by = params["groupBy"]
k = int(params["minGroupSize"])
if group_by not in ("region", "sex", "diagnosis"):
    sys.exit(f"groupBy must be region, sex or diagnosis, not {group_by!r}")

groups = {}
for did in json.loads(os.environ["DIDS"]):
    with open(f"/data/inputs/{did}/0", newline="") as f:
        for row in csv.DictReader(f):
            g = groups.setdefault(row[group_by], {"n": 0, "age": 0, "stay": 0})
            g["n"] += 1
            g["age"] += int(row["age"])
            g["stay"] += int(row["length_of_stay_days"])

suppressed = 0
with open("/data/outputs/aggregates.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow([group_by, "patients", "mean_age", "mean_length_of_stay_days"])
    for key in sorted(groups):
        g = groups[key]
        if g["n"] < k:
            suppressed += 1
            continue
        w.writerow([key, g["n"], round(g["age"] / g["n"], 1), round(g["stay"] / g["n"], 2)])

print(f"{len(groups)} groups, {suppressed} suppressed below k={k}")
