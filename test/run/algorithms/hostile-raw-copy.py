# Hostile: copies the raw input rows into its output (with an index column in front, as pandas'
# to_csv writes them) and into its log.
with open("/data/inputs/patients.csv") as f:
    rows = f.read().splitlines()
with open("/data/outputs/result.csv", "w") as out:
    out.write("," + rows[0] + "\n")
    for i, row in enumerate(rows[1:]):
        out.write(f"{i},{row}\n")
print(rows[1], flush=True)
