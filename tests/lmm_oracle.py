"""Test oracle: random-intercept linear mixed models fitted with statsmodels' MixedLM.

``fit_lmm(formula, frame, group_col, vc_formula, model)`` fits a formula model (or a
model built by ``lmm_from_arrays``) by REML and gives (result, notes, converged). The
package fits its wave models with its own REML on group sums
(``pcnstudy.scores.reml.fit_nested_reml``); the tests compare that fit with this one.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec


def lmm_from_arrays(endog, exog: pd.DataFrame, groups, nested=None, nested_name: str = "respondent"):
    """A statsmodels ``MixedLM`` with a random intercept per group, from arrays.

    ``exog``: the fixed-effects design (its column names name the terms); ``groups``:
    the top-level group of each row. With ``nested`` (a label per row, e.g. the
    respondent within a PCN), a variance component ``nested_name`` adds a random
    intercept per nested label within each group: the model ``MixedLM.from_formula``
    builds with ``re_formula="1", vc_formula={nested_name: "0 + C(nested)"}``, each
    group's indicator block built with numpy (columns in sorted label order).
    """
    endog = np.asarray(endog, dtype=float)
    groups = np.asarray(groups)
    if nested is None:
        model = MixedLM(endog, exog, groups)
        names = ["Group"]
    else:
        nested = np.asarray(nested)
        order = np.argsort(groups, kind="stable")
        bounds = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1], True])
        mats, colnames = [], []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            labels, codes = np.unique(nested[order[start:stop]], return_inverse=True)
            mat = np.zeros((stop - start, len(labels)))
            mat[np.arange(stop - start), codes] = 1.0
            mats.append(mat)
            colnames.append([f"C({nested_name})[{label}]" for label in labels])
        exog_vc = VCSpec([nested_name], [colnames], [mats])
        model = MixedLM(endog, exog, groups, exog_re=np.ones((len(endog), 1)), exog_vc=exog_vc)
        names = ["Group"]
    param_names, re_names, re_names_full = model._make_param_names(names)
    model.data.param_names = param_names
    model.data.exog_re_names = re_names
    model.data.exog_re_names_full = re_names_full
    if nested is not None:
        model.data.vcomp_names = model.exog_vc.names
    return model


def fit_lmm(formula: str, frame: pd.DataFrame, group_col: str, vc_formula: dict | None = None, model=None):
    """Fit a random-intercept LMM by REML; return (result, notes, converged).

    The model is ``formula`` with a random intercept per ``group_col`` (plus the
    variance components of ``vc_formula``), or ``model`` when given (e.g. from
    ``lmm_from_arrays``; then ``formula`` and ``frame`` are not used).
    Every warning raised during the fit becomes a note. ``converged`` is False when
    the last optimiser attempt failed (statsmodels retries with another optimiser
    after a failure, and says so) or ``result.converged`` is False.
    """
    converged = True
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if model is None:
            kwargs = {"re_formula": "1", "vc_formula": vc_formula} if vc_formula else {}
            model = smf.mixedlm(formula, frame, groups=frame[group_col], **kwargs)
        result = model.fit(reml=True)
    failed = False  # an optimiser failure not followed by a retry
    for w in caught:
        text = str(w.message).splitlines()[0] if str(w.message) else ""
        notes.append(f"{w.category.__name__}: {text}")
        if "failed to converge" in text.lower() or "did not converge" in text.lower():
            failed = True
        elif text.lower().startswith("retrying"):
            failed = False
    converged = not failed
    if not getattr(result, "converged", True):
        converged = False
        notes.append("optimiser did not converge")
    return result, notes, converged
