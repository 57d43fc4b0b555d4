"""The measurement model: which items measure which factor, from lavaan-like syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MeasurementModel"]


_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class MeasurementModel:
    """Which indicators measure which factor: the hypothesis a CFA tests.

    Parameters
    ----------
    factors : tuple of (str, tuple of str)
        Each factor with its indicators, in order. An indicator that is itself a factor makes a
        second-order factor (``theme =~ facet1 + facet2``). The first indicator of every factor is
        its marker (loading fixed to 1), as lavaan's default ``std.lv = FALSE``.
    residual_covariances : tuple of (str, str), default ()
        Pairs of items whose residuals covary (lavaan ``x7 ~~ x8``).
    keyed : tuple of (str, int), default ()
        Optional scoring key (+1/-1) of the items. It does not change the model: reverse-keyed items
        are modelled raw and simply get negative loadings. :mod:`analysis.sem.validity` uses it to
        orient loadings and correlations.
    name : str, default ""
        A label for tables (``"facets"``, ``"one_factor"``).
    orthogonal : tuple of str, default ()
        Factors uncorrelated with every other factor (their covariances fixed to 0, lavaan
        ``f ~~ 0*g``): all factors of a bifactor model, or a method factor.
    fixed_loadings : tuple of (str, str, float), default ()
        Loadings fixed to a value, as ``(factor, item, value)`` (lavaan ``f =~ 1*item``). A factor
        whose loadings are all fixed has no marker; its variance is free (a method factor).

    Notes
    -----
    Latent variables that are not indicators of another factor (exogenous) covary freely; a factor
    that is an indicator of a second-order factor has a disturbance variance and no covariances,
    as lavaan's ``cfa()`` does (``auto.cov.lv.x = TRUE``). Observed variables are ordered by first
    appearance in the model, as lavaan's ``lavNames(fit, "ov")``.

    Examples
    --------
    >>> m = MeasurementModel.from_syntax("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6")
    >>> m.latent, m.observed[:4]
    (('visual', 'textual'), ('x1', 'x2', 'x3', 'x4'))
    >>> print(m.to_syntax())
    visual =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    """

    factors: tuple[tuple[str, tuple[str, ...]], ...]
    residual_covariances: tuple[tuple[str, str], ...] = ()
    keyed: tuple[tuple[str, int], ...] = ()
    name: str = ""
    orthogonal: tuple[str, ...] = ()
    fixed_loadings: tuple[tuple[str, str, float], ...] = ()

    def __post_init__(self) -> None:  # noqa: C901 - one check per rule of a model, each naming it
        if not self.factors:
            raise ValueError("factors: a measurement model needs at least one factor")
        names = [f for f, _ in self.factors]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"factors: factor(s) defined twice: {', '.join(dup)}")
        for factor, indicators in self.factors:
            for n in (factor, *indicators):
                if not isinstance(n, str) or not _NAME.match(n):
                    raise ValueError(f"factors: {n!r} is not a valid variable name")
            if len(indicators) == 0:
                raise ValueError(f"factors: factor {factor!r} has no indicators")
            if len(set(indicators)) != len(indicators):
                raise ValueError(f"factors: factor {factor!r} lists an indicator twice")
            if factor in indicators:
                raise ValueError(f"factors: factor {factor!r} cannot measure itself")
        parents: dict[str, list[str]] = {}
        for factor, indicators in self.factors:
            for ind in indicators:
                if ind in names:
                    parents.setdefault(ind, []).append(factor)
        multi = sorted(k for k, v in parents.items() if len(v) > 1)
        if multi:
            raise ValueError(
                f"factors: factor(s) {', '.join(multi)} load on more than one higher-order factor"
            )
        for factor, indicators in self.factors:
            kinds = {ind in names for ind in indicators}
            if len(kinds) > 1:
                raise ValueError(
                    f"factors: factor {factor!r} mixes items and factors as indicators; "
                    "allowed: only items, or only factors (a higher-order factor)"
                )
            if kinds == {True}:
                deeper = [ind for ind in indicators if set(dict(self.factors)[ind]) & set(names)]
                if deeper:
                    raise ValueError(
                        f"factors: factor {factor!r}: only first- and second-order factors are "
                        f"supported ({', '.join(deeper)} is itself second-order)"
                    )
        unknown = [f for f in self.orthogonal if f not in names]
        if unknown:
            raise ValueError(f"orthogonal: {', '.join(unknown)} are not factors of the model")
        for f, ind, _value in self.fixed_loadings:
            if f not in names or ind not in dict(self.factors)[f]:
                raise ValueError(
                    f"fixed_loadings: ({f!r}, {ind!r}) is not a loading of the model; allowed: "
                    "(factor, one of its indicators, value)"
                )
        obs = set(self.observed)
        for a, b in self.residual_covariances:
            if a not in obs or b not in obs or a == b:
                raise ValueError(
                    f"residual_covariances: ({a!r}, {b!r}) must name two different items of the "
                    "model"
                )

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def from_syntax(cls, text: str, *, name: str = "") -> MeasurementModel:
        """Build a model from lavaan-like syntax.

        Supported: ``factor =~ a + b + c`` (a factor and its indicators; indicators that are factors
        make a second-order factor) and ``a ~~ b`` between two items (a residual covariance). Lines
        may be separated by newlines or ``;``; ``#`` starts a comment. Modifiers such as ``NA*x1``
        or fixed values are not supported and raise ``ValueError``.
        """
        if not isinstance(text, str):
            raise TypeError(
                f"text: expected lavaan-like model syntax as str, got {type(text).__name__}"
            )
        factors: dict[str, list[str]] = {}
        covs: list[tuple[str, str]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            for stmt in raw.split("#", 1)[0].split(";"):
                stmt = stmt.strip()
                if not stmt:
                    continue
                if "=~" in stmt:
                    lhs, rhs = (s.strip() for s in stmt.split("=~", 1))
                    terms = [t.strip() for t in rhs.split("+")]
                    bad = [t for t in [lhs, *terms] if not _NAME.match(t)]
                    if bad:
                        raise ValueError(
                            f"model syntax line {lineno}: {bad[0]!r} is not a variable name "
                            "(modifiers such as NA*x1 or 0.5*x1 are not supported)"
                        )
                    factors.setdefault(lhs, []).extend(terms)
                elif "~~" in stmt:
                    lhs, rhs = (s.strip() for s in stmt.split("~~", 1))
                    if not (_NAME.match(lhs) and _NAME.match(rhs)):
                        raise ValueError(f"model syntax line {lineno}: cannot read {stmt!r}")
                    covs.append((lhs, rhs))
                else:
                    raise ValueError(
                        f"model syntax line {lineno}: cannot read {stmt!r}; allowed: "
                        "'factor =~ item1 + item2' and 'item1 ~~ item2'"
                    )
        if not factors:
            raise ValueError("model syntax: no 'factor =~ indicators' line found")
        latent = set(factors)
        residual = []
        for a, b in covs:
            if a in latent and b in latent:
                continue  # latent covariances are free by default, as in lavaan's cfa()
            residual.append((a, b))
        return cls(tuple((f, tuple(i)) for f, i in factors.items()), tuple(residual), name=name)

    def to_syntax(self) -> str:
        """The model in lavaan syntax (paste into R's ``cfa()`` to cross-check)."""
        fixed = {(f, i): v for f, i, v in self.fixed_loadings}

        def term(f: str, i: str) -> str:
            return f"{fixed[(f, i)]:g}*{i}" if (f, i) in fixed else i

        lines = [f"{f} =~ {' + '.join(term(f, i) for i in inds)}" for f, inds in self.factors]
        lines += [f"{a} ~~ {b}" for a, b in self.residual_covariances]
        lat = self.latent
        endo = {i for _, inds in self.factors for i in inds if i in set(lat)}
        exo = [f for f in lat if f not in endo]
        lines += [
            f"{a} ~~ 0*{b}"
            for k, a in enumerate(exo)
            for b in exo[k + 1 :]
            if a in self.orthogonal or b in self.orthogonal
        ]
        return "\n".join(lines)

    # --- views -------------------------------------------------------------------------------
    @property
    def latent(self) -> tuple[str, ...]:
        """Factor names in definition order."""
        return tuple(f for f, _ in self.factors)

    @property
    def observed(self) -> tuple[str, ...]:
        """Item names in order of first appearance."""
        latent = set(self.latent)
        seen: dict[str, None] = {}
        for _, indicators in self.factors:
            for ind in indicators:
                if ind not in latent:
                    seen.setdefault(ind)
        for a, b in self.residual_covariances:
            seen.setdefault(a)
            seen.setdefault(b)
        return tuple(seen)

    @property
    def first_order(self) -> tuple[str, ...]:
        """Factors measured by items."""
        latent = set(self.latent)
        return tuple(f for f, ind in self.factors if not set(ind) & latent)

    @property
    def second_order(self) -> tuple[str, ...]:
        """Factors measured by other factors."""
        latent = set(self.latent)
        return tuple(f for f, ind in self.factors if set(ind) & latent)

    def indicators(self, factor: str) -> tuple[str, ...]:
        """The indicators of one factor."""
        return dict(self.factors)[factor]

    def items_of(self, factor: str) -> tuple[str, ...]:
        """The items under a factor (through its first-order factors for a second-order one)."""
        latent = set(self.latent)
        out: list[str] = []
        for ind in self.indicators(factor):
            out.extend(self.items_of(ind) if ind in latent else [ind])
        return tuple(out)

    @property
    def keys(self) -> dict[str, int]:
        """Scoring key of the items (+1 where none was given)."""
        k = dict(self.keyed)
        return {item: int(k.get(item, 1)) for item in self.observed}
