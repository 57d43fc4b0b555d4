"""Attrition prediction: who leaves the mutual-help group, and when.

Public API (each name lives in the module named for its concept):

- :func:`~analysis.attrition.followup.join_followup`,
  :func:`~analysis.attrition.followup.dropout_from_attendance`,
  :func:`~analysis.attrition.followup.status_from_attendance` - follow-up data and the dropout
  definition;
- :class:`~analysis.attrition.cox.CoxModel`, :func:`~analysis.attrition.cox.cox_zph` - Cox model, PH
  check;
- :class:`~analysis.attrition.frailty.FrailtyCoxModel` - Cox model with a shared gamma frailty;
- :class:`~analysis.attrition.logistic.LogisticModel` - logistic model of disengagement status;
- :func:`~analysis.attrition.timevarying.person_period` - (start, stop] rows from waves;
- :func:`~analysis.attrition.kaplan_meier.kaplan_meier`, :func:`~analysis.attrition.kaplan_meier.logrank_test`;
- :func:`~analysis.attrition.concordance.concordance_index` - Harrell's C;
- :func:`~analysis.attrition.validation.validate_cox`,
  :func:`~analysis.attrition.validation.validate_logistic`;
- :func:`~analysis.attrition.sample_size.riley_sample_size`;
- :func:`~analysis.attrition.study.fit_attrition` - the whole analysis in one call;
- :func:`~analysis.attrition.model_io.save_model`, :func:`~analysis.attrition.model_io.load_model`;
- :func:`~analysis.attrition.report.write_outputs` - results.json, tables.xlsx, report.html.
"""

from analysis.attrition.concordance import concordance_index
from analysis.attrition.cox import CoxModel, cox_zph
from analysis.attrition.followup import (
    dropout_from_attendance,
    join_followup,
    status_from_attendance,
)
from analysis.attrition.frailty import FrailtyCoxModel
from analysis.attrition.kaplan_meier import kaplan_meier, logrank_test
from analysis.attrition.logistic import LogisticModel
from analysis.attrition.model_io import load_model, save_model
from analysis.attrition.sample_size import riley_sample_size
from analysis.attrition.study import fit_attrition
from analysis.attrition.timevarying import person_period
from analysis.attrition.validation import validate_cox, validate_logistic

__all__ = [
    "CoxModel",
    "FrailtyCoxModel",
    "LogisticModel",
    "concordance_index",
    "cox_zph",
    "dropout_from_attendance",
    "fit_attrition",
    "join_followup",
    "kaplan_meier",
    "load_model",
    "logrank_test",
    "person_period",
    "riley_sample_size",
    "save_model",
    "status_from_attendance",
    "validate_cox",
    "validate_logistic",
]
