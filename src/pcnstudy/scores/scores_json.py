"""scores.json: the stage's headline numbers as plain JSON, for the paper and the cohort report.

``build_scores_json(change, mixed, reliability, fb, fb_mask, meta, attrition, att_pub,
then_test, kirk, wave_order, marker, threshold)`` takes the stage's tables (change
already disclosure-controlled; feedback and attrition unsuppressed beside their masks
or published forms) and gives a dict keyed by section, then cohort, then domain or
item (the Results JSON conventions of docs/architecture.md): floats as plain floats,
NaN as null, a hidden value as the disclosure marker string (e.g. ``"<5"``).
``extra_sections(meta_programmes, effects, bias, wave_order)`` adds the sections
``meta_programmes`` (domain -> method, REML at the top as in ``meta``), ``effects``
and ``bias`` (cohort -> domain, last wave; published, disclosure-controlled tables)
and ``methods`` (``METHODS``: the names of the estimators, tests, intervals and
adjustments those tables use, for the paper's Methods). ``method_sections(reliability,
ordinal, marker, threshold)`` adds ``reliability_ci`` (alpha with its interval) and
``ordinal`` (the proportional-odds sensitivity analysis), disclosure-controlled.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pcnstudy.core.disclosure import is_hidden
from pcnstudy.scores.bias import BIAS_COLUMNS, BIAS_METHODS
from pcnstudy.scores.change import CHANGE_METHODS
from pcnstudy.scores.effects import EFFECT_COLUMNS, EFFECT_METHODS
from pcnstudy.scores.meta import HEADLINE_ESTIMATOR, META_METHODS
from pcnstudy.scores.ordinal import ORDINAL_METHODS
from pcnstudy.scores.ratings_table import order_waves
from pcnstudy.scores.reliability import RELIABILITY_METHODS

UNPAIRED_JSON_KEYS = ["wave_from", "wave_to", "n_from", "n_to", "mean_from", "mean_to", "mean_diff", "diff_ci_low",
                      "diff_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "welch_t", "welch_df", "p_welch",
                      "p_holm", "mannwhitney_u", "p_mannwhitney", "cles", "rank_biserial", "cohen_d", "paired"]
UNPAIRED_MODEL_JSON_KEYS = ["wave_to", "estimate", "se", "ci_low", "ci_high", "p", "model", "sd_pcn", "sd_residual",
                            "n_obs", "n_pcn", "converged", "note"]
CHANGE_JSON_KEYS = ["wave_from", "wave_to", "n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low",
                    "diff_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "p_t", "p_holm", "p_wilcoxon", "dz",
                    "rank_biserial", "p_bh"]
#: The names of the methods behind the tables, by section, as the paper's Methods quote them
#: (scores.json ``methods``; each section's names are defined beside the code that uses them).
METHODS = {"meta": META_METHODS, "effects": EFFECT_METHODS, "bias": BIAS_METHODS, "change": CHANGE_METHODS,
           "ordinal": ORDINAL_METHODS, "reliability": RELIABILITY_METHODS}


META_JSON_KEYS = ["estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "p_q", "k", "hk_ci_low", "hk_ci_high",
                  "pi_low", "pi_high", "pi_informative"]


def _clean(value: Any) -> Any:
    """JSON-safe plain value: floats (NaN -> None), ints, strings, bools."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _nested(rows: pd.DataFrame, keys: list[str], fields: list[str]) -> dict:
    out: dict = {}
    for rec in rows.to_dict("records"):
        node = out
        for key in keys[:-1]:
            node = node.setdefault(str(rec[key]), {})
        node[str(rec[keys[-1]])] = {f: _clean(rec[f]) for f in fields if f in rec}
    return out


def last_wave_rows(change: pd.DataFrame, wave_order: list[str]) -> pd.DataFrame:
    """The row of each cohort x level x item with the latest ``wave_to`` (in ``wave_order``)."""
    rank = {w: i for i, w in enumerate(wave_order)}
    frame = change.assign(_r=change["wave_to"].map(rank))
    idx = frame.groupby(["cohort", "level", "item"])["_r"].idxmax()
    return frame.loc[idx.sort_values()].drop(columns="_r")


def _published(value: Any) -> Any:
    """A published cell: a number where it holds one, else its text (a marker or a band)."""
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else None
        except ValueError:
            return value
    return _clean(value)


def build_scores_json(change, mixed, reliability, fb, fb_mask, meta, attrition, att_pub, then_test, kirk,
                      wave_order, marker, threshold, fb_pub=None) -> dict:
    """Assemble scores.json (Results JSON conventions) from the stage's tables.

    ``fb_pub`` (the published feedback table) gives hidden feedback cells their own
    marker (``<5`` or the complementary ``[c]``) and band (``pct_band``)."""
    out: dict[str, Any] = {}
    last = last_wave_rows(change, wave_order) if not change.empty else change
    dom = last[last["level"] == "domain"]
    out["change"] = _nested(dom, ["cohort", "item"], CHANGE_JSON_KEYS)
    items = last[last["level"] == "item"]
    out["change_items"] = _nested(items, ["cohort", "item"], CHANGE_JSON_KEYS)
    # every later wave too (e.g. baseline -> mid), keyed by wave
    out["change_by_wave"] = _nested(change[change["level"] == "domain"], ["cohort", "item", "wave_to"],
                                    CHANGE_JSON_KEYS)
    mx = mixed[mixed["term"].astype(str).str.startswith("wave[")].copy()
    if not mx.empty:
        mx["wave_to"] = mx["term"].str.extract(r"wave\[T\.(.*)\]", expand=False)
        rank = {w: i for i, w in enumerate(wave_order)}
        mx["_r"] = mx["wave_to"].map(rank)
        lastmx = mx.loc[mx.groupby(["cohort", "item"])["_r"].idxmax().sort_values()]
        out["mixed"] = _nested(lastmx, ["cohort", "item"], ["wave_to", "estimate", "se", "ci_low", "ci_high", "p",
                                                          "sd_respondent", "sd_residual", "n_obs", "n_respondents",
                                                          "converged"])
        for cohort in out["mixed"].values():
            for rec in cohort.values():
                rec["p_mixed"] = rec.pop("p")
    else:
        out["mixed"] = {}
    out["reliability"] = {}
    for rec in reliability.to_dict("records"):
        out["reliability"].setdefault(rec["cohort"], {}).setdefault(rec["domain"], {})[rec["wave"]] = _clean(rec["alpha"])
    out["feedback"] = {}
    fb_rank = {w: i for i, w in enumerate(order_waves(fb["wave"]))} if not fb.empty else {}
    if not fb.empty:
        fbl = fb.assign(_r=fb["wave"].map(fb_rank), _hide=fb_mask["k"].to_numpy() | fb_mask["n"].to_numpy(),
                        _hide_n=fb_mask["n"].to_numpy(), _pos=np.arange(len(fb)))
        fbl = fbl.loc[fbl.groupby(["cohort", "item"])["_r"].idxmax().sort_values()]
        for rec in fbl.to_dict("records"):
            pub = fb_pub.iloc[rec["_pos"]].to_dict() if fb_pub is not None else {}
            entry = {"wave": rec["wave"], "n": pub.get("n", marker) if rec["_hide_n"] else int(rec["n"])}
            for key in ("k", "pct", "pct_ci_low", "pct_ci_high"):
                entry[key] = pub.get(key, marker) if rec["_hide"] else _clean(rec[key])
            if rec["_hide"] and pub.get("pct_band"):
                entry["pct_band"] = pub["pct_band"]
            out["feedback"].setdefault(rec["cohort"], {})[rec["item"]] = entry
    out["meta"] = {}
    for rec in meta.to_dict("records"):
        entry = {k: _clean(rec[k]) for k in META_JSON_KEYS if k in rec}
        entry["method"] = rec["method"]
        entry["cohorts"] = rec["cohorts"]
        out["meta"].setdefault(rec["domain"], {})[rec["method"]] = entry
    # the headline method per domain (REML) at the top level of each domain
    for domain, methods in out["meta"].items():
        if HEADLINE_ESTIMATOR in methods:
            methods.update({k: v for k, v in methods[HEADLINE_ESTIMATOR].items()})
    out["attrition"] = {}
    for raw, pub in zip(attrition.to_dict("records"), att_pub.to_dict("records")):
        entry = {}
        for key, value in raw.items():
            if key == "cohort":
                continue
            shown = pub.get(key)
            entry[key] = shown if is_hidden(shown) else _clean(value)
        if pub.get("pct_lost_band"):
            entry["pct_lost_band"] = pub["pct_lost_band"]
        out["attrition"][raw["cohort"]] = entry
    out["then_test"] = {}
    if not then_test.empty:
        for rec in then_test.to_dict("records"):
            node = out["then_test"].setdefault(rec["cohort"], {}).setdefault(rec["item"], {})
            node[rec["comparison"]] = {k: _clean(rec[k]) for k in CHANGE_JSON_KEYS if k in rec}
    out["kirkpatrick"] = {}
    for rec in kirk.to_dict("records"):
        node = out["kirkpatrick"].setdefault(rec["dimension"], {}).setdefault(rec["source"], {})
        fields = {k: _published(v) for k, v in rec.items()
                  if k not in ("dimension", "source", "cohort", "level") and _published(v) is not None}
        node.setdefault(rec["cohort"], {})[rec["level"]] = fields
    out["settings"] = {"waves": wave_order, "disclosure_marker": marker, "disclosure_threshold": threshold}
    return out


def build_unpaired_json(unpaired: pd.DataFrame, models: pd.DataFrame, wave_order: list[str]) -> dict:
    """The unpaired cohorts' sections of scores.json ({} when there are none, so that a study
    without unpaired cohorts has the scores.json it always had): ``unpaired_change`` and
    ``unpaired_change_items`` (the last wave against the first, by cohort then domain or
    item), ``unpaired_change_by_wave`` and ``unpaired_models`` (the last wave's term, its
    p as ``p_mixed`` and ``n_respondents`` = ``n_obs``, as the ``mixed`` section has them)."""
    if unpaired.empty:
        return {}
    last = last_wave_rows(unpaired, wave_order)
    out = {"unpaired_change": _nested(last[last["level"] == "domain"], ["cohort", "item"], UNPAIRED_JSON_KEYS),
           "unpaired_change_items": _nested(last[last["level"] == "item"], ["cohort", "item"], UNPAIRED_JSON_KEYS),
           "unpaired_change_by_wave": _nested(unpaired[unpaired["level"] == "domain"], ["cohort", "item", "wave_to"],
                                              UNPAIRED_JSON_KEYS)}
    terms = models[models["term"].astype(str).str.startswith("wave[")].copy()
    out["unpaired_models"] = {}
    if not terms.empty:
        terms["wave_to"] = terms["term"].str.extract(r"wave\[T\.(.*)\]", expand=False)
        rank = {w: i for i, w in enumerate(wave_order)}
        terms["_r"] = terms["wave_to"].map(rank)
        lastm = terms.loc[terms.groupby(["cohort", "item"])["_r"].idxmax().sort_values()]
        out["unpaired_models"] = _nested(lastm, ["cohort", "item"], UNPAIRED_MODEL_JSON_KEYS)
        for cohort in out["unpaired_models"].values():
            for rec in cohort.values():  # named as the mixed section names them; one answer per respondent
                rec["p_mixed"] = rec.pop("p")
                rec["n_respondents"] = rec["n_obs"]
    return out


def _meta_tree(meta: pd.DataFrame, extra: tuple[str, ...] = ()) -> dict:
    out: dict = {}
    for rec in meta.to_dict("records"):
        entry = {k: _clean(rec[k]) for k in META_JSON_KEYS if k in rec}
        entry.update(method=rec["method"], cohorts=rec["cohorts"], **{k: rec[k] for k in extra if k in rec})
        out.setdefault(rec["domain"], {})[rec["method"]] = entry
    for methods in out.values():
        if HEADLINE_ESTIMATOR in methods:
            methods.update(dict(methods[HEADLINE_ESTIMATOR]))
    return out


def extra_sections(meta_programmes: pd.DataFrame, effects: pd.DataFrame, bias: pd.DataFrame,
                   wave_order: list[str]) -> dict:
    """The sections ``meta_programmes``, ``effects``, ``bias`` and ``methods`` of scores.json."""
    keys = ["cohort", "item"]
    eff = last_wave_rows(effects, wave_order) if not effects.empty else effects
    bia = last_wave_rows(bias, wave_order) if not bias.empty else bias
    eff_fields = [c for c in EFFECT_COLUMNS if c not in ("cohort", "level", "item")]
    bias_fields = [c for c in BIAS_COLUMNS if c not in ("cohort", "level", "item")]
    return {"meta_programmes": _meta_tree(meta_programmes, ("programmes",)),
            "effects": _nested(eff, keys, eff_fields) if not eff.empty else {},
            "bias": _nested(bia, keys, bias_fields) if not bia.empty else {},
            "methods": {section: dict(names) for section, names in METHODS.items()}}


def _hidden_if_small(value: Any, threshold: int, marker: str) -> Any:
    """A count as published: the marker when it is from 1 to threshold - 1."""
    value = _clean(value)
    return marker if isinstance(value, (int, float)) and 0 < value < threshold else value


def method_sections(reliability: pd.DataFrame, ordinal: pd.DataFrame, marker: str, threshold: int) -> dict:
    """The sections ``reliability_ci`` (cohort -> domain -> wave: n, n_items, alpha and its
    interval) and ``ordinal`` (cohort -> domain -> later wave: the proportional-odds model's
    odds ratio of answering higher at that wave than at the first, its interval (``or_ci_*``),
    ``p_ordinal``, ``n_respondents``, ``n_obs``, ``cov_type``, ``converged``) of scores.json.

    Disclosure control: a count of respondents from 1 to threshold - 1 is the marker, and an
    ordinal model resting on so few respondents shows the marker for every statistic."""
    out: dict[str, dict] = {"reliability_ci": {}, "ordinal": {}}
    for rec in reliability.to_dict("records"):
        out["reliability_ci"].setdefault(str(rec["cohort"]), {}).setdefault(str(rec["domain"]), {})[str(rec["wave"])] = {
            "n": _hidden_if_small(rec["n"], threshold, marker), "n_items": _clean(rec["n_items"]),
            "alpha": _clean(rec["alpha"]), "ci_low": _clean(rec["ci_low"]), "ci_high": _clean(rec["ci_high"])}
    terms = ordinal[ordinal["term"].astype(str).str.startswith("wave[")] if not ordinal.empty else ordinal
    for rec in terms.to_dict("records"):
        wave = str(rec["term"])[len("wave[T."):-1]
        entry = {"n_respondents": _clean(rec["n_respondents"]), "n_obs": _clean(rec["n_obs"]),
                 "odds_ratio": _clean(rec["odds_ratio"]), "or_ci_low": _clean(np.exp(rec["ci_low"])),
                 "or_ci_high": _clean(np.exp(rec["ci_high"])), "p_ordinal": _clean(rec["p"]),
                 "cov_type": rec["cov_type"], "converged": _clean(rec["converged"])}
        if _hidden_if_small(rec["n_respondents"], threshold, marker) == marker:
            entry = {key: marker for key in entry}
        out["ordinal"].setdefault(str(rec["cohort"]), {}).setdefault(str(rec["domain"]), {})[wave] = entry
    return out
