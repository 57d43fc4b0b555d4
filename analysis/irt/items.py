"""Item response functions of the unidimensional models and their parameter derivatives.

Every item is described by its type and a parameter vector in mirt's slope-intercept form:

* ``graded`` (Samejima's graded response model, and the 2PL as its two-category case):
  parameters ``(a, d_1, ..., d_{K-1})`` with
  ``P(X >= k | theta) = 1 / (1 + exp(-(a theta + d_k)))``, ``d_1 > d_2 > ...``.
* ``gpcm`` (Muraki's generalised partial credit model, mirt's ``gpcm`` with scoring
  ``ak = 0..K-1``): parameters ``(a, d_1, ..., d_{K-1})`` with ``d_0 = 0`` and
  ``P(X = k | theta) proportional to exp(k a theta + d_k)``.

The functions return, at each quadrature node, the category probabilities and the first and second
derivatives of the log probabilities with respect to the item parameters; the EM M-step, the
Newton polish of the marginal likelihood and the Louis information are built from them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_softmax, softmax

__all__ = ["ITEM_TYPES", "item_derivatives", "item_probabilities", "item_slope_derivative"]

ITEM_TYPES = ("graded", "gpcm", "2PL")

# Category probabilities are floored here before logs and divisions (mirt floors at 1e-50 too).
_FLOOR = 1e-300


def _graded_cumulative(params: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary logits z (Q, K-1) and the category probabilities (Q, K) of a graded item."""
    z = params[0] * theta[:, None] + params[1:][None, :]
    above = expit(z)
    below = expit(-z)
    probs = np.empty((theta.size, params.size))
    probs[:, 0] = below[:, 0]
    probs[:, -1] = above[:, -1]
    if params.size > 2:
        # sigma(z_k) - sigma(z_k+1), computed on the side where it does not cancel
        direct = above[:, :-1] - above[:, 1:]
        flipped = below[:, 1:] - below[:, :-1]
        probs[:, 1:-1] = np.where(z[:, :-1] + z[:, 1:] > 0, flipped, direct)
    return z, np.maximum(probs, _FLOOR)


def item_probabilities(item_type: str, params: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Category probabilities ``(n_theta, n_categories)`` of one item at ``theta``."""
    theta = np.asarray(theta, dtype=float)
    if item_type in ("graded", "2PL"):
        return _graded_cumulative(params, theta)[1]
    if item_type == "gpcm":
        k = np.arange(params.size)
        z = params[0] * k[None, :] * theta[:, None] + np.concatenate([[0.0], params[1:]])[None, :]
        return np.maximum(softmax(z, axis=1), _FLOOR)
    raise ValueError(f"item_type must be one of {ITEM_TYPES}, got {item_type!r}")


def item_log_probabilities(item_type: str, params: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Log category probabilities ``(n_theta, n_categories)``."""
    if item_type == "gpcm":
        k = np.arange(params.size)
        z = params[0] * k[None, :] * theta[:, None] + np.concatenate([[0.0], params[1:]])[None, :]
        return np.maximum(log_softmax(z, axis=1), np.log(_FLOOR))
    return np.log(item_probabilities(item_type, params, theta))


def item_derivatives(
    item_type: str, params: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities and derivatives of the log probabilities with respect to the parameters.

    Returns
    -------
    probs : ndarray (Q, K)
    dlog : ndarray (Q, K, P)
        d log P_k(theta_q) / d params.
    d2log : ndarray (Q, K, P, P)
        Second derivatives of log P_k(theta_q).
    """
    theta = np.asarray(theta, dtype=float)
    n_par = params.size
    if item_type in ("graded", "2PL"):
        z, probs = _graded_cumulative(params, theta)
        n_cat = params.size
        q = theta.size
        pstar = expit(z)
        psi = pstar * (1.0 - pstar)
        dpsi = psi * (1.0 - 2.0 * pstar)
        # gradient of each boundary probability P*_k: psi_k * (theta, e_k)
        basis = np.zeros((q, n_cat - 1, n_par))
        basis[:, :, 0] = theta[:, None]
        basis[:, np.arange(n_cat - 1), np.arange(1, n_cat)] = 1.0
        dstar = psi[:, :, None] * basis
        d2star = dpsi[:, :, None, None] * basis[:, :, :, None] * basis[:, :, None, :]
        zeros1 = np.zeros((q, 1, n_par))
        zeros2 = np.zeros((q, 1, n_par, n_par))
        dstar_full = np.concatenate([zeros1, dstar, zeros1], axis=1)
        d2star_full = np.concatenate([zeros2, d2star, zeros2], axis=1)
        dprob = dstar_full[:, :-1] - dstar_full[:, 1:]
        d2prob = d2star_full[:, :-1] - d2star_full[:, 1:]
        dlog = dprob / probs[:, :, None]
        d2log = d2prob / probs[:, :, None, None] - dlog[:, :, :, None] * dlog[:, :, None, :]
        return probs, dlog, d2log
    if item_type == "gpcm":
        probs = item_probabilities("gpcm", params, theta)
        n_cat = params.size
        q = theta.size
        jac = np.zeros((q, n_cat, n_par))
        jac[:, :, 0] = np.arange(n_cat)[None, :] * theta[:, None]
        jac[:, np.arange(1, n_cat), np.arange(1, n_cat)] = 1.0
        mean_jac = np.einsum("qk,qkp->qp", probs, jac)
        dlog = jac - mean_jac[:, None, :]
        second = np.einsum("qk,qkp,qkr->qpr", probs, jac, jac) - (
            mean_jac[:, :, None] * mean_jac[:, None, :]
        )
        d2log = np.broadcast_to(-second[:, None, :, :], (q, n_cat, n_par, n_par)).copy()
        return probs, dlog, d2log
    raise ValueError(f"item_type must be one of {ITEM_TYPES}, got {item_type!r}")


def item_slope_derivative(item_type: str, params: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """d P_k(theta) / d theta, shape ``(n_theta, n_categories)`` (for information and MAP)."""
    theta = np.asarray(theta, dtype=float)
    a = params[0]
    if item_type in ("graded", "2PL"):
        z, _ = _graded_cumulative(params, theta)
        pstar = expit(z)
        psi = a * pstar * (1.0 - pstar)
        full = np.concatenate([np.zeros((theta.size, 1)), psi, np.zeros((theta.size, 1))], axis=1)
        return full[:, :-1] - full[:, 1:]
    if item_type == "gpcm":
        probs = item_probabilities("gpcm", params, theta)
        k = np.arange(params.size)
        mean_k = probs @ k
        return a * probs * (k[None, :] - mean_k[:, None])
    raise ValueError(f"item_type must be one of {ITEM_TYPES}, got {item_type!r}")
