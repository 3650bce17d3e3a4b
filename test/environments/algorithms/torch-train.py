# Trains a small PyTorch model on CPU: a logistic regression of readmission on age and length of
# stay, 200 steps of Adam, on the provider's rows. Only the trained weights and the loss curve leave.
import json

import torch

torch.manual_seed(0)
torch.set_num_threads(1)
rows = []
with open("/data/inputs/patients.csv") as f:
    header = f.readline().strip().split(",")
    for line in f:
        rows.append(dict(zip(header, line.strip().split(","))))
x = torch.tensor([[float(r["age"]) / 100.0, float(r["stay"]) / 10.0] for r in rows])
y = torch.tensor([[float(r["readmitted"])] for r in rows])

model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
loss_fn = torch.nn.BCEWithLogitsLoss()
losses = []
for step in range(200):
    optimiser.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimiser.step()
    losses.append(float(loss))
with torch.no_grad():
    accuracy = float(((model(x) > 0).float() == y).float().mean())
with open("/data/outputs/model.json", "w") as out:
    json.dump(
        {
            "torch": torch.__version__,
            "device": str(next(model.parameters()).device),
            "cudaAvailable": torch.cuda.is_available(),
            "firstLoss": round(losses[0], 6),
            "lastLoss": round(losses[-1], 6),
            "trainingAccuracy": round(accuracy, 6),
            "parameters": sum(p.numel() for p in model.parameters()),
            "weights": {k: [round(float(v), 6) for v in t.flatten()] for k, t in model.state_dict().items()},
        },
        out,
        sort_keys=True,
    )
