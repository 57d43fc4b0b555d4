"""mirt's own EM path: its starting values, M-step optimiser, acceleration and stopping rule.

``GradedResponseModel(convergence="mirt")`` uses these pieces to land where R mirt lands. mirt stops
its EM when no parameter moved more than ``TOL = 1e-4`` in the last cycle, a little short of the
maximum (on mirt's Science data 2.4e-4 below it in log-likelihood, up to 0.015 on one intercept),
so matching mirt's printed estimates at its own tolerance means following its path:

* starting values as mirt's ``model.elements``/``LoadPars`` for ``mirt(data, 1)``: every slope
  ``0.5 * 1.702``, graded intercepts ``qnorm(1 - cumulative proportion) / (sqrt(0.75) / 1.702)``
  (2PL: ``qnorm(proportion correct) / ...``; gpcm: differences of ``qnorm(proportion)``, not
  checked against mirt);
* each M-step one joint quasi-Newton run over all item parameters, R's ``optim(method="BFGS")``
  (the ``vmmin`` routine, ported below line by line) with ``reltol = sqrt(.Machine$double.eps)``
  and ``maxit = max(ceiling(Mrate * 50), 15)``, ``Mrate`` from the change in log-likelihood;
* Ramsay's acceleration every third cycle (mirt's default ``accelerate = "Ramsay"``);
* stop when ``max |p_before M-step - p_after| < 1e-4`` (mirt's ``hasConverged``), at most 500
  cycles.

References
----------
Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for the R
environment. Journal of Statistical Software, 48(6). (Source: R/EMstep.group.R, R/EMstep.utils.R,
R/05-model.elements.R, R/utils.R ``makeopts``, ``hasConverged``.)
Ramsay, J. O. (1975). Solving implicit equations in psychometric data analysis. Psychometrika, 40,
337-360.
Nash, J. C. (1990). Compact Numerical Methods for Computers (2nd ed.), algorithm 21 (R's
``vmmin``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special  # not scipy.stats: ~1 s to import

__all__ = ["MIRT_TOL", "mirt_start_values", "vmmin"]

MIRT_TOL = 1e-4  # mirt's makeopts(): TOL for method = "EM"
MIRT_NCYCLES = 500  # mirt's makeopts(): NCYCLES for method = "EM"
_RELTOL = math.sqrt(np.finfo(float).eps)  # R optim()'s default reltol


def mirt_start_values(codes: np.ndarray, sizes: np.ndarray, item_types: list[str]) -> list:
    """mirt's starting values of ``mirt(data, 1)`` (R/05-model.elements.R).

    Parameters
    ----------
    codes : ndarray (n, J)
        Category indices 0..K-1, -1 where missing.
    sizes : ndarray (J,)
        Number of categories of each item.
    item_types : list of str

    Returns
    -------
    list of ndarray
        Per item ``(a, d_1, ..., d_{K-1})``.
    """
    n, n_items = codes.shape
    # model.elements(): every slope starts at 0.5 * 1.702 (a one-factor model is not
    # "exploratory" in mirt, so no eigenvector start), the intercepts from the category
    # proportions scaled by div = sqrt(1 - 0.5^2) / 1.702
    slopes = np.full(n_items, 0.5 * 1.702)
    div = math.sqrt(0.75) / 1.702
    out = []
    for j in range(n_items):
        k = int(sizes[j])
        column = codes[:, j]
        props = np.array([(column == c).sum() for c in range(k)], dtype=float) / n
        if k == 2:
            zetas = np.array([special.ndtri(props[1]) / div])
        elif item_types[j] == "gpcm":
            temp = special.ndtri(props)
            zetas = ((temp - temp[0]) / div)[1:]
        else:
            zetas = special.ndtri(1.0 - np.cumsum(props[:-1])) / div
        if not np.all(np.isfinite(zetas)):
            zetas = np.linspace(2.0, -2.0, k - 1)
        out.append(np.concatenate([[slopes[j]], zetas]))
    return out


def vmmin(
    fn: Callable[[np.ndarray], float],
    gr: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    *,
    maxit: int = 100,
    reltol: float = _RELTOL,
    abstol: float = -math.inf,
) -> np.ndarray:
    """R's ``optim(method = "BFGS")`` (C routine ``vmmin``), minimising ``fn``.

    A line-by-line port so that the iterates are R's: unit initial step along ``-B g`` with
    ``B = I`` at (re)starts, backtracking by 0.2 until the Armijo condition with 1e-4, BFGS update
    of the inverse Hessian when ``s'y > 0``, restart otherwise or after ``2n`` gradients, stop when
    the relative change of ``fn`` is below ``reltol`` or after ``maxit`` gradients.
    """
    b = np.array(start, dtype=float)
    n = b.size
    if maxit <= 0:
        return b
    f = fn(b)
    if not math.isfinite(f):
        raise ValueError("initial value in 'vmmin' is not finite")
    fmin = f
    g = gr(b)
    funcount = gradcount = 1
    iteration = 1
    ilast = gradcount
    hess_inv = np.eye(n)
    count = 0
    while True:
        if ilast == gradcount:
            hess_inv = np.eye(n)
        x = b.copy()
        c = g.copy()
        t = -hess_inv @ g
        gradproj = float(t @ g)
        if gradproj < 0.0:
            steplength = 1.0
            accpoint = False
            while True:
                b = x + steplength * t
                count = int(np.sum(10.0 + x == 10.0 + b))
                if count < n:
                    f = fn(b)
                    funcount += 1
                    accpoint = math.isfinite(f) and f <= fmin + gradproj * steplength * 1e-4
                    if not accpoint:
                        steplength *= 0.2
                if count == n or accpoint:
                    break
            enough = f > abstol and abs(f - fmin) > reltol * (abs(fmin) + reltol)
            if not enough:
                count = n
                fmin = f
            if count < n:
                fmin = f
                g = gr(b)
                gradcount += 1
                iteration += 1
                t = steplength * t
                c = g - c
                d1 = float(t @ c)
                if d1 > 0:
                    xx = hess_inv @ c
                    d2 = 1.0 + float(xx @ c) / d1
                    hess_inv = (
                        hess_inv + (d2 * np.outer(t, t) - np.outer(xx, t) - np.outer(t, xx)) / d1
                    )
                else:
                    ilast = gradcount
            else:
                if ilast < gradcount:
                    count = 0
                    ilast = gradcount
        else:
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if iteration >= maxit:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount
        if count == n and ilast == gradcount:
            break
    # vmmin leaves b at the last trial point; when the line search found no change (count == n)
    # that is x itself up to the 10 + x == 10 + b test, as in R
    return b
