"""Exception and warning classes shared by :mod:`instrument` and :mod:`analysis`.

Every error a user can cause derives from :class:`MHDQError`; the CLI turns those into a
clear message and an exit code, and shows a traceback only with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass


class MHDQError(Exception):
    """Base class of every error MHDQ raises on bad input."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One problem in an instrument specification.

    Attributes
    ----------
    path : str
        Field path inside the specification, e.g. ``items[12].keyed``.
    value : str
        The offending value, as text (shortened when long).
    message : str
        What is wrong and what is allowed.
    element : str
        The id of the item, question or scale ``path`` points into (``""`` when none); the
        message names it: ``items[6].scale (C2): ...``.
    """

    path: str
    value: str
    message: str
    element: str = ""

    @property
    def where(self) -> str:
        """The path with the element named, as shown to the user."""
        return f"{self.path} ({self.element})" if self.element else self.path

    def __str__(self) -> str:
        return f"{self.where}: {self.message} (got {self.value})"


class SpecError(MHDQError):
    """An instrument specification that cannot be loaded; lists every problem at once."""

    def __init__(self, source: str, problems: list[SpecProblem]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s) in the instrument specification:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class DataError(MHDQError):
    """Response data that cannot be read or used at all (e.g. an unreadable file)."""


class UsageError(MHDQError):
    """A request that cannot be carried out as given (bad option value, unwritable folder)."""

    exit_code = 2


class ConvergenceWarning(UserWarning):
    """An iterative estimator stopped before meeting its convergence criterion."""


class HeywoodCaseWarning(UserWarning):
    """A factor solution has a communality at or above 1 (a Heywood case)."""


class DataQualityWarning(UserWarning):
    """Analysable data with a problem the user should know about (few events, many missing)."""
