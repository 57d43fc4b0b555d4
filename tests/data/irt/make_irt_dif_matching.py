"""Write bfi_dif_matching.csv: the matching scores R's polr fits use (make_irt_dif_reference.R).

Run from the repository root: python tests/data/irt/make_irt_dif_matching.py
The scores are this package's GRM EAP on psych's bfi N1-N5 (complete cases with gender), and the
purified score of dif_lordif; R refits the ordinal models on exactly these numbers.
"""

from pathlib import Path

import pandas as pd

from analysis.irt import GradedResponseModel, eap_scores
from analysis.irt.dif import dif_lordif

HERE = Path(__file__).parent
ITEMS = ["N1", "N2", "N3", "N4", "N5"]


def main() -> None:
    bfi = pd.read_csv(HERE.parent / "bfi.csv", index_col=0)
    data = bfi[[*ITEMS, "gender"]].dropna()
    model = GradedResponseModel(se_type=None).fit(data[ITEMS])
    theta = eap_scores(model, data[ITEMS])["theta"]
    purified = dif_lordif(data[ITEMS], data["gender"]).theta
    out = data.assign(theta_initial=theta, theta_purified=purified)
    out.to_csv(HERE / "bfi_dif_matching.csv", float_format="%.17g")


if __name__ == "__main__":
    main()
