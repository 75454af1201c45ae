"""The scores stage: processed tables in, result tables, scores.json and figures out.

``run_scores_stage(processed, results, figures, params)`` reads
``processed/{ratings,feedback,respondents}.parquet`` (docs/architecture.md) and writes

* ``results/scores/*.csv``: change_scores, mixed_models, ordinal, reliability,
  feedback_proportions (disclosure-controlled strings), attrition and
  attrition_by_profession (disclosure-controlled), meta, then_test, kirkpatrick;
* ``results/scores.json`` (plain floats, keyed by cohort then domain/item, see the
  Results JSON conventions; suppressed values are the marker string, e.g. "<5");
* figures ``fig-slopes``, ``fig-forest``, ``fig-likert``, ``fig-feedback`` (PNG + SVG;
  fig-slopes samples respondents' lines with ``scores.seed`` above 200 per panel).

It returns a dict of the tables (pandas DataFrames), the JSON dict and the figure
paths, for the notebook to display. Params read (params.yaml layout): ``cohorts``,
``disclosure.min_cell``, ``disclosure.rule``, ``scores.alpha``,
``scores.bootstrap_reps``, ``scores.seed``, ``scores.min_pcn_groups``; optional
``scores.retrospective_waves`` (default ``[then]``) and
``disclosure.protect_remainder`` (default true: a small number of "no" answers
beside a published "yes" count and total is protected too, see pcnstudy.core.disclosure). Waves are put in time order by
name (baseline, pre, mid, post, end, follow_up; others as seen); a retrospective
wave (the then-test) is left out of change and mixed models and compared with the
last wave separately.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pcnstudy.core import paths
from pcnstudy.scores.attrition import attrition_by_profession, attrition_table
from pcnstudy.scores.change import InputError, POOLED, add_domain_scores, change_table, order_waves, validate_long, write_csv
from pcnstudy.core.disclosure import get_rule, suppress, suppression_mask
from pcnstudy.scores.meta import pool_change
from pcnstudy.scores.mixed import mixed_table
from pcnstudy.scores.ordinal import ordinal_table
from pcnstudy.core.params import load_yaml
from pcnstudy.core.proportions import feedback_table
from pcnstudy.scores.reliability import reliability_table

CHANGE_JSON_KEYS = ["wave_from", "wave_to", "n_pairs", "mean_from", "mean_to", "mean_diff", "diff_ci_low",
                    "diff_ci_high", "pct_change", "pct_ci_low", "pct_ci_high", "p_t", "p_holm", "p_wilcoxon", "dz",
                    "rank_biserial"]
DEFAULT_RETROSPECTIVE = ("then",)


def stage_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Flatten the params this stage reads (params.yaml layout or notebook names) with defaults."""
    scores = params.get("scores", {}) or {}
    disclosure = params.get("disclosure", {}) or {}
    return {
        "cohorts": list(params.get("cohorts") or []),
        "alpha": float(params.get("alpha", scores.get("alpha", 0.05))),
        "bootstrap_reps": int(params.get("bootstrap_reps", scores.get("bootstrap_reps", 2000))),
        "seed": int(params.get("seed", scores.get("seed", 4242))),
        "min_pcn_groups": int(params.get("min_pcn_groups", scores.get("min_pcn_groups", 10))),
        "min_cell": int(params.get("min_cell", disclosure.get("min_cell", 5))),
        "disclosure_rule": str(params.get("disclosure_rule", disclosure.get("rule", "threshold"))),
        "protect_remainder": bool(params.get("protect_remainder", disclosure.get("protect_remainder", True))),
        "retrospective_waves": list(params.get("retrospective_waves",
                                               scores.get("retrospective_waves", DEFAULT_RETROSPECTIVE))),
    }


def _read(processed: Path, name: str) -> pd.DataFrame:
    path = Path(processed) / f"{name}.parquet"
    if not path.is_file():
        raise InputError(f"{path}:0:: missing processed table (run the ingest stage first)")
    frame = pd.read_parquet(path)
    for col in frame.columns:
        if col not in ("score", "value"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


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


def _last_wave_rows(change: pd.DataFrame, wave_order: list[str]) -> pd.DataFrame:
    rank = {w: i for i, w in enumerate(wave_order)}
    frame = change.assign(_r=change["wave_to"].map(rank))
    idx = frame.groupby(["cohort", "level", "item"])["_r"].idxmax()
    return frame.loc[idx.sort_values()].drop(columns="_r")


def _suppress_small_n(frame: pd.DataFrame, n_col: str, stat_cols: list[str], marker: str, threshold: int) -> pd.DataFrame:
    """Replace statistics of rows resting on fewer than ``threshold`` people by the marker."""
    out = frame.copy()
    small = pd.to_numeric(out[n_col], errors="coerce") < threshold
    if small.any():
        cols = list(dict.fromkeys([c for c in stat_cols if c in out.columns] + [n_col]))
        out[cols] = out[cols].astype(object)
        out.loc[small, cols] = marker
    return out


def then_test_table(data: pd.DataFrame, retrospective: list[str], wave_order: list[str], alpha: float) -> pd.DataFrame:
    """Then-vs-post beside pre-vs-post, per cohort x domain, for cohorts with a then-test."""
    rows = []
    domains = data[data["level"] == "domain"]
    for cohort, sub in domains.groupby("cohort", sort=True):
        seen = set(sub["wave"].unique())
        retro = [w for w in retrospective if w in seen]
        prospective = [w for w in wave_order if w in seen and w not in retrospective]
        if not retro or len(prospective) < 2:
            continue
        then, pre, post = retro[0], prospective[0], prospective[-1]
        pre_post = change_table(sub[sub["wave"].isin([pre, post])], [pre, post], alpha=alpha, pooled=False)
        then_post = change_table(sub[sub["wave"].isin([then, post])], [then, post], alpha=alpha, pooled=False)
        for label, table in (("pre_vs_post", pre_post), ("then_vs_post", then_post)):
            table = table.assign(comparison=label)
            rows.append(table)
    if not rows:
        return pd.DataFrame(columns=["cohort", "item", "comparison"])
    out = pd.concat(rows, ignore_index=True)
    out = out.sort_values(["cohort", "item", "comparison"], kind="mergesort").reset_index(drop=True)
    front = ["cohort", "item", "comparison"]
    return out[front + [c for c in out.columns if c not in front]]


def kirkpatrick_tables(change_last: pd.DataFrame, feedback: pd.DataFrame, instrument: dict, alpha: float) -> pd.DataFrame:
    """Change (items, last wave) and feedback (yes-share) summarised by Kirkpatrick and impact level."""
    meta_rows = [{"item": it["id"], "kirkpatrick": it.get("kirkpatrick", ""), "impact": it.get("impact", ""),
                  "kind": "rating"} for it in instrument.get("items", [])]
    meta_rows += [{"item": it["id"], "kirkpatrick": it.get("kirkpatrick", ""), "impact": it.get("impact", ""),
                   "kind": "feedback"} for it in instrument.get("feedback", [])]
    item_meta = pd.DataFrame(meta_rows)
    rows = []
    items = change_last[change_last["level"] == "item"].merge(item_meta[item_meta.kind == "rating"], on="item")
    fb = feedback.merge(item_meta[item_meta.kind == "feedback"], on="item") if not feedback.empty else feedback
    for dimension in ("kirkpatrick", "impact"):
        if not items.empty:
            g = items.groupby(["cohort", dimension], sort=True)
            agg = g.agg(n_items=("item", "size"), mean_diff=("mean_diff", "mean"), pct_change=("pct_change", "mean"),
                        k_improved=("p_holm", lambda p: int(((p < alpha)).sum()))).reset_index()
            agg = agg.rename(columns={dimension: "level"}).assign(dimension=dimension, source="ratings")
            rows.append(agg)
        if not fb.empty:
            g = fb.groupby(["cohort", dimension], sort=True)
            agg = g.agg(n_items=("item", "nunique"), n=("n", "sum"), k=("k", "sum")).reset_index()
            agg["pct_yes"] = agg["k"] / agg["n"]
            agg = agg.rename(columns={dimension: "level"}).assign(dimension=dimension, source="feedback")
            rows.append(agg)
    if not rows:
        return pd.DataFrame(columns=["dimension", "source", "cohort", "level"])
    out = pd.concat(rows, ignore_index=True)
    front = ["dimension", "source", "cohort", "level"]
    out = out[front + [c for c in out.columns if c not in front]]
    return out.sort_values(front, kind="mergesort").reset_index(drop=True)


def run_scores_stage(processed: Path, results: Path, figures: Path, params: dict) -> dict:
    """Run every scores analysis and write tables, scores.json and figures; return them."""
    from pcnstudy.scores import figures as scores_figures

    cfg = stage_settings(params)
    processed, results, figures = Path(processed), Path(results), Path(figures)
    out_dir = results / "scores"
    rule = get_rule(cfg["disclosure_rule"], cfg["min_cell"])
    ratings_raw = _read(processed, "ratings")
    feedback_raw = _read(processed, "feedback")
    if cfg["cohorts"]:
        ratings_raw = ratings_raw[ratings_raw["cohort"].isin(cfg["cohorts"])]
        feedback_raw = feedback_raw[feedback_raw["cohort"].isin(cfg["cohorts"])]
    keep = [c for c in ("respondent", "cohort", "pcn", "profession", "wave", "item", "domain", "score")
            if c in ratings_raw.columns]
    long_all = validate_long(ratings_raw[keep], source=str(processed / "ratings.parquet"))
    retro = cfg["retrospective_waves"]
    wave_order = [w for w in order_waves(long_all["wave"]) if w not in retro]
    with_domains_all = add_domain_scores(long_all)
    data = with_domains_all[~with_domains_all["wave"].isin(retro)].reset_index(drop=True)
    alpha = cfg["alpha"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        change = change_table(data, wave_order, alpha=alpha, bootstrap_reps=cfg["bootstrap_reps"], seed=cfg["seed"])
        mixed = mixed_table(data, wave_order, alpha=alpha, min_pcn_groups=cfg["min_pcn_groups"], levels=("domain",))
        ordinal = ordinal_table(data, wave_order, alpha=alpha)
    reliability = reliability_table(long_all)
    attrition = attrition_table(data, wave_order, seed=cfg["seed"], reps=cfg["bootstrap_reps"])
    attrition_prof = attrition_by_profession(data, wave_order)
    meta = pool_change(change, alpha=alpha)
    then_test = then_test_table(with_domains_all, retro, wave_order + retro, alpha)
    fb = feedback_table(feedback_raw, alpha=alpha) if not feedback_raw.empty else pd.DataFrame(
        columns=["cohort", "wave", "item", "n", "k", "pct", "pct_ci_low", "pct_ci_high"])
    instrument = load_yaml(paths.INSTRUMENT)
    change_last = _last_wave_rows(change[change["cohort"] != POOLED], wave_order) if not change.empty else change
    kirk = kirkpatrick_tables(change_last, fb, instrument, alpha)

    # disclosure control for the count tables
    derived = {"pct": "k", "pct_ci_low": "k", "pct_ci_high": "k"}
    fb_pub = suppress(fb, ["k"], total_col="n", derived_cols=derived, min_cell=cfg["min_cell"],
                      rule=cfg["disclosure_rule"], protect_remainder=cfg["protect_remainder"])
    fb_mask = suppression_mask(fb, ["k"], total_col="n", min_cell=cfg["min_cell"], rule=cfg["disclosure_rule"],
                               protect_remainder=cfg["protect_remainder"])
    att_pub = suppress(attrition, ["n_completers", "n_lost"], total_col="n_baseline",
                       derived_cols={"pct_lost": "n_lost", "mean_baseline_lost": "n_lost",
                                     "mean_baseline_completers": "n_completers",
                                     "diff_lost_minus_completers": "n_lost",
                                     # tests on a suppressed group are statistics on it
                                     **{c: "n_lost" for c in ("welch_t", "welch_df", "p_welch", "mannwhitney_u",
                                                              "p_mannwhitney", "p_profession")}},
                       min_cell=cfg["min_cell"], rule=cfg["disclosure_rule"])
    att_prof_pub = suppress(attrition_prof, ["n_completers", "n_lost"], total_col="n_baseline",
                            min_cell=cfg["min_cell"], rule=cfg["disclosure_rule"], by=["cohort"])
    change_pub = _suppress_small_n(change, "n_pairs", [c for c in change.columns if c not in
                                                      ("cohort", "item", "wave_from", "wave_to", "level")],
                                   rule.marker, rule.threshold)
    tables = {"change_scores": change_pub, "mixed_models": mixed, "ordinal": ordinal, "reliability": reliability,
              "feedback_proportions": fb_pub, "attrition": att_pub, "attrition_by_profession": att_prof_pub,
              "meta": meta, "then_test": then_test, "kirkpatrick": kirk}
    for name, table in tables.items():
        write_csv(table, out_dir / f"{name}.csv")

    scores_json = build_scores_json(change_pub, mixed, reliability, fb, fb_mask, meta, attrition, att_pub,
                                    then_test, kirk, wave_order, rule.marker, rule.threshold)
    results.mkdir(parents=True, exist_ok=True)
    (results / "scores.json").write_text(json.dumps(scores_json, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    figs = scores_figures.make_all(data, change, meta, fb, fb_mask, wave_order, figures, instrument,
                                   marker=rule.marker, seed=cfg["seed"])
    return {"tables": tables, "unsuppressed": {"feedback_proportions": fb, "attrition": attrition},
            "json": scores_json, "figures": figs, "settings": cfg, "waves": wave_order}


def build_scores_json(change, mixed, reliability, fb, fb_mask, meta, attrition, att_pub, then_test, kirk,
                      wave_order, marker, threshold) -> dict:
    """Assemble scores.json (Results JSON conventions) from the stage's tables."""
    out: dict[str, Any] = {}
    last = _last_wave_rows(change, wave_order) if not change.empty else change
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
                        _hide_n=fb_mask["n"].to_numpy())
        fbl = fbl.loc[fbl.groupby(["cohort", "item"])["_r"].idxmax().sort_values()]
        for rec in fbl.to_dict("records"):
            entry = {"wave": rec["wave"], "n": marker if rec["_hide_n"] else int(rec["n"])}
            for key in ("k", "pct", "pct_ci_low", "pct_ci_high"):
                entry[key] = marker if rec["_hide"] else _clean(rec[key])
            out["feedback"].setdefault(rec["cohort"], {})[rec["item"]] = entry
    out["meta"] = {}
    for rec in meta.to_dict("records"):
        entry = {k: _clean(rec[k]) for k in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "p_q", "k")}
        entry["method"] = rec["method"]
        entry["cohorts"] = rec["cohorts"]
        out["meta"].setdefault(rec["domain"], {})[rec["method"]] = entry
    # the headline method per domain (REML) at the top level of each domain
    for domain, methods in out["meta"].items():
        if "reml" in methods:
            methods.update({k: v for k, v in methods["reml"].items()})
    out["attrition"] = {}
    for raw, pub in zip(attrition.to_dict("records"), att_pub.to_dict("records")):
        entry = {}
        for key, value in raw.items():
            if key == "cohort":
                continue
            shown = pub.get(key)
            entry[key] = marker if shown == marker else _clean(value)
        out["attrition"][raw["cohort"]] = entry
    out["then_test"] = {}
    if not then_test.empty:
        for rec in then_test.to_dict("records"):
            node = out["then_test"].setdefault(rec["cohort"], {}).setdefault(rec["item"], {})
            node[rec["comparison"]] = {k: _clean(rec[k]) for k in CHANGE_JSON_KEYS if k in rec}
    out["kirkpatrick"] = {}
    for rec in kirk.to_dict("records"):
        node = out["kirkpatrick"].setdefault(rec["dimension"], {}).setdefault(rec["source"], {})
        fields = {k: _clean(v) for k, v in rec.items()
                  if k not in ("dimension", "source", "cohort", "level") and _clean(v) is not None}
        node.setdefault(rec["cohort"], {})[rec["level"]] = fields
    out["settings"] = {"waves": wave_order, "disclosure_marker": marker, "disclosure_threshold": threshold}
    return out
