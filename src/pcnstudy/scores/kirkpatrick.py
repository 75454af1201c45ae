"""Change and feedback summarised by Kirkpatrick level and by micro/meso/macro impact.

``kirkpatrick_tables(change_last, feedback, instrument, alpha)`` takes the change rows
of each cohort's last wave, the feedback proportions and the instrument (its items'
``kirkpatrick`` and ``impact`` labels, config/instrument.yml) and gives one row per
dimension x source (ratings, feedback) x cohort x level: n_items, and for ratings the
mean change, mean percent change and the number of items improved (Holm p < alpha),
for feedback the pooled n, k and yes-share.
"""
from __future__ import annotations

import pandas as pd


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
