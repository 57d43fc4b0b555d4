"""The installed scikit-learn works with factor_analyzer 0.5.1 (why pyproject pins sklearn < 1.8).

factor_analyzer 0.5.1 calls ``sklearn.utils.check_array(force_all_finite=...)``, which
scikit-learn 1.8 removed; with it, ``FactorAnalyzer.fit`` raises TypeError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


# scikit-learn 1.6-1.7 warn that force_all_finite goes away in 1.8: the reason for the pin
@pytest.mark.filterwarnings("ignore:'force_all_finite' was renamed:FutureWarning")
def test_factor_analyzer_fits_with_installed_sklearn():
    from factor_analyzer import FactorAnalyzer

    items = pd.read_csv(Path(__file__).parent / "data" / "bfi.csv", index_col=0).iloc[:, :25]
    fa = FactorAnalyzer(n_factors=5, rotation="oblimin", method="minres")
    fa.fit(items.dropna())
    loadings = fa.loadings_
    assert loadings.shape == (25, 5)
    assert np.all(np.isfinite(loadings))
    # the bfi's five scales show up: items' largest loadings fall on all five factors
    dominant = np.abs(loadings).argmax(axis=1)
    assert len(set(dominant.tolist())) == 5


def test_sklearn_below_1_8():
    import sklearn

    major, minor = (int(x) for x in sklearn.__version__.split(".")[:2])
    assert (major, minor) < (1, 8), "factor_analyzer 0.5.1 needs scikit-learn < 1.8"
