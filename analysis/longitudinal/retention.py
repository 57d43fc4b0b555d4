"""Retention across waves: the counts a CONSORT-style flow diagram shows, and the diagram."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis._results import Result
from analysis.longitudinal._checks import check_columns, wave_order

__all__ = ["RetentionFlow", "retention_flow"]


@dataclass(frozen=True, slots=True, repr=False)
class RetentionFlow(Result):
    """Who was seen at each wave.

    Attributes
    ----------
    table : DataFrame
        One row per wave, in order: ``wave``, ``n_observed`` (respondents with a record at the
        wave), ``n_from_baseline`` (of them, enrolled at the first wave), ``retention``
        (n_from_baseline / enrolled), ``n_lost_since_previous`` (seen at the previous wave, not
        at this one), ``n_returned`` (not seen at the previous wave but seen before, back now),
        ``n_new`` (first seen at this wave, after baseline), ``n_not_seen`` (enrolled at
        baseline, no record at this wave).
    n_enrolled : int
        Respondents at the first wave.
    n_all_waves : int
        Enrolled respondents seen at every wave.
    """

    table: pd.DataFrame
    n_enrolled: int
    n_all_waves: int

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {
            "n_enrolled": self.n_enrolled,
            "n_all_waves": self.n_all_waves,
            "table": self.table.to_dict("records"),
        }

    def plot(self, ax=None):
        """A CONSORT-style flow diagram: one box per wave, the losses beside the arrows.

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch

        rows = self.table.to_dict("records")
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 1.7 * len(rows) + 0.4))
        height = 1.7 * len(rows)
        ax.set_xlim(0, 10)
        ax.set_ylim(0, height)
        ax.axis("off")
        box = {"boxstyle": "round,pad=0.02", "linewidth": 1.0, "facecolor": "white"}
        for i, row in enumerate(rows):
            top = height - 0.2 - 1.7 * i
            ax.add_patch(FancyBboxPatch((0.3, top - 0.9), 5.0, 0.9, edgecolor="black", **box))
            if i == 0:
                text = f"{row['wave']}: enrolled\nn = {row['n_observed']}"
            else:
                text = (
                    f"{row['wave']}: seen n = {row['n_observed']}\n"
                    f"from baseline {row['n_from_baseline']} ({row['retention']:.0%})"
                )
                if row["n_new"]:
                    text += f", new {row['n_new']}"
            ax.text(2.8, top - 0.45, text, ha="center", va="center", fontsize=9)
            if i + 1 < len(rows):
                nxt = rows[i + 1]
                ax.annotate(
                    "",
                    xy=(2.8, top - 1.7),
                    xytext=(2.8, top - 0.9),
                    arrowprops={"arrowstyle": "->", "linewidth": 1.0},
                )
                ax.add_patch(FancyBboxPatch((6.0, top - 1.5), 3.7, 0.7, edgecolor="grey", **box))
                side = f"not seen at {nxt['wave']}: {nxt['n_lost_since_previous']}"
                if nxt["n_returned"]:
                    side += f"\nreturned: {nxt['n_returned']}"
                ax.text(7.85, top - 1.15, side, ha="center", va="center", fontsize=8)
                ax.plot([2.8, 6.0], [top - 1.15, top - 1.15], color="grey", linewidth=0.8)
        return ax


def retention_flow(
    data: pd.DataFrame,
    *,
    id: str = "respondent_id",
    wave: str = "wave",
    waves: list[str] | None = None,
) -> RetentionFlow:
    """Retention per wave from a person-period table.

    Parameters
    ----------
    data : DataFrame
        One row per respondent and wave seen (e.g. ``WaveTable.person_period`` from
        :func:`instrument.waves.read_waves`); other columns are ignored.
    id : str, default "respondent_id"
        Respondent id column.
    wave : str, default "wave"
        Wave column.
    waves : list of str, optional
        Waves in order; a wave listed but absent from the data is an error. Default: the
        column's categories' order, or its sorted values.

    Returns
    -------
    RetentionFlow
        ``table`` with one row per wave (columns listed on the class).

    Notes
    -----
    The counts are those of the participant flow diagram of CONSORT 2010 (enrolment,
    follow-up, lost to follow-up per wave) and of STROBE's item 13 for cohort studies.

    References
    ----------
    Schulz, K. F., Altman, D. G., & Moher, D. (2010). CONSORT 2010 Statement. *BMJ*, 340, c332.

    Examples
    --------
    >>> data = pd.DataFrame({"respondent_id": [1, 2, 3, 1, 2, 4, 1, 3],
    ...                      "wave": ["t0"] * 3 + ["t6"] * 3 + ["t12"] * 2})
    >>> flow = retention_flow(data, waves=["t0", "t6", "t12"])
    >>> flow.table[["wave", "n_observed", "n_from_baseline", "n_returned", "n_new"]].values.tolist()
    [['t0', 3, 3, 0, 0], ['t6', 3, 2, 0, 1], ['t12', 2, 2, 1, 0]]
    """
    check_columns(data, [id, wave], "data")
    order = wave_order(data, wave=wave, waves=waves)
    seen = [set(data.loc[data[wave] == label, id].dropna()) for label in order]
    if not seen:
        raise ValueError(f"data: column {wave!r} holds no wave")
    baseline = seen[0]
    ever: set = set()
    rows = []
    for i, (label, ids) in enumerate(zip(order, seen, strict=True)):
        previous = seen[i - 1] if i else set()
        rows.append(
            {
                "wave": label,
                "n_observed": len(ids),
                "n_from_baseline": len(ids & baseline),
                "retention": len(ids & baseline) / len(baseline) if baseline else float("nan"),
                "n_lost_since_previous": len(previous - ids) if i else 0,
                "n_returned": len((ids & ever) - previous) if i else 0,
                "n_new": len(ids - ever) if i else 0,
                "n_not_seen": len(baseline - ids),
            }
        )
        ever |= ids
    all_waves = set.intersection(*seen)
    return RetentionFlow(
        table=pd.DataFrame(rows), n_enrolled=len(baseline), n_all_waves=len(all_waves)
    )
