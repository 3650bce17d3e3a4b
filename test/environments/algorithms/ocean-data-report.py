# An algorithm written the way Ocean Protocol's Compute-to-Data examples are: the dataset at
# /data/inputs/<did>/0 (DIDS lists the dids), parameters in /data/inputs/algoCustomData.json,
# results in /data/outputs, a one-line `result` without an extension as Ocean's own examples
# write it. It uses pandas, scikit-learn, matplotlib and Pillow, as a data scientist would, keeps
# its scratch files (the full-size chart, the pickled model) in its working directory, and
# delivers a CSV, a PNG chart, a model as JSON and the result line.
import json
import os
import pickle

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from PIL import Image
from sklearn.linear_model import LogisticRegression

dids = json.loads(os.getenv("DIDS", "[]"))
df = pd.read_csv(f"/data/inputs/{dids[0]}/0")
with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
group_by = params.get("groupBy", "region")

summary = (
    df.groupby(group_by)
    .agg(patients=("age", "size"), mean_age=("age", "mean"), mean_stay=("stay", "mean"))
    .reset_index()
    .round(3)
)
summary.to_csv("/data/outputs/summary.csv", index=False)

fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
ax.bar(summary[group_by], summary["mean_stay"], color="#4472c4")
ax.set_title(f"Mean stay by {group_by}")
ax.set_ylabel("days")
fig.tight_layout()
fig.savefig("chart-full.png")
# Pillow: a palette image is a fraction of the size, and the budget of bytes that leave is small.
with Image.open("chart-full.png") as chart:
    size = chart.size
    chart.convert("RGB").quantize(colors=32).save("/data/outputs/chart.png", optimize=True)

features = ["age", "stay"]
with open("model.pkl", "wb") as f:
    pickle.dump(LogisticRegression().fit(df[features], df["readmitted"]), f)
with open("model.pkl", "rb") as f:
    model = pickle.load(f)
with open("/data/outputs/model.json", "w") as out:
    json.dump(
        {
            "features": features,
            "coefficients": [round(float(c), 6) for c in model.coef_[0]],
            "intercept": round(float(model.intercept_[0]), 6),
            "trainingAccuracy": round(float(model.score(df[features], df["readmitted"])), 6),
            "rows": int(len(df)),
            "chart": {"width": size[0], "height": size[1]},
            "font": os.path.basename(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False)),
            "backend": plt.get_backend(),
        },
        out,
        sort_keys=True,
    )
with open("/data/outputs/result", "w") as out:
    out.write(f"{len(df)} rows in {len(summary)} groups; scratch: {', '.join(sorted(os.listdir('.')))}")
print(f"summarised {len(df)} rows into {len(summary)} groups")
