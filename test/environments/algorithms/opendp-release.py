# A differentially private release with OpenDP: the count of patients and their mean length of
# stay, under the budget the contract sets (differentialPrivacyEpsilon), split evenly between the
# two queries. Only the noisy statistics leave.
import json
from importlib.metadata import version

import opendp.prelude as dp
import pandas as pd

dp.enable_features("contrib")
with open("/data/inputs/algoCustomData.json") as f:
    params = json.load(f)
epsilon = float(params["differentialPrivacyEpsilon"])
stays = pd.read_csv("/data/inputs/patients.csv")["stay"].astype(float).tolist()

context = dp.Context.compositor(
    data=stays,
    privacy_unit=dp.unit_of(contributions=1),
    privacy_loss=dp.loss_of(epsilon=epsilon),
    split_evenly_over=2,
    domain=dp.vector_domain(dp.atom_domain(T=float, nan=False)),
)
count_query = context.query().count().laplace()
count = count_query.release()
# The sum of stays clamped to [0, 30] days, then divided by the noisy count.
total = context.query().clamp((0.0, 30.0)).sum().laplace().release()
with open("/data/outputs/release.json", "w") as out:
    json.dump(
        {
            "epsilon": epsilon,
            "queries": 2,
            "count": int(count),
            "meanStay": round(total / max(count, 1), 3),
            "countScale": count_query.param(),
            "library": "opendp " + version("opendp"),
        },
        out,
        sort_keys=True,
    )
