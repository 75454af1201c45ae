"""Theme coding by the themes stage against the themes the generator wrote into each text.

``theme_versus_truth(doc_themes, truth, themes)`` takes the themes stage's response-level
assignments (doc_themes.csv: ``id, theme, score, assigned``), the generator's
``text_themes.csv`` (``response_id, ..., themes``: the themes of each response,
semicolon-separated) and the codebook's themes as (id, name) pairs, and gives one row per
theme: responses compared, the true and the assigned count and share, and Cohen's kappa
between the two codings of the same responses (scikit-learn's ``cohen_kappa_score``).
Themes the generator planted outside the codebook are not in the codebook's list and so
not compared here; the free topics are how the study looks for those.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

COLUMNS = ["theme", "name", "n_responses", "n_true", "n_assigned", "pct_true", "pct_assigned", "kappa"]


def true_theme_matrix(truth: pd.DataFrame, ids: Iterable[str], themes: Iterable[str]) -> pd.DataFrame:
    """0/1 frame, one row per response id (in ``ids`` order), one column per theme."""
    sets = {rid: set(str(value).split(";")) if isinstance(value, str) and value else set()
            for rid, value in zip(truth["response_id"], truth["themes"])}
    ids = list(ids)
    return pd.DataFrame({t: [int(t in sets.get(i, set())) for i in ids] for t in themes}, index=ids)


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two 0/1 codings; NaN when both are constant and equal (no variation to agree on)."""
    if len(set(a.tolist()) | set(b.tolist())) < 2:
        return float("nan")
    return float(cohen_kappa_score(a, b))


def theme_versus_truth(doc_themes: pd.DataFrame, truth: pd.DataFrame,
                       themes: Iterable[tuple[str, str]]) -> pd.DataFrame:
    """One row per codebook theme: true and assigned counts and shares, and kappa, over the
    responses that both the themes stage and the generator hold."""
    themes = list(themes)
    assigned = doc_themes.pivot_table(index="id", columns="theme", values="assigned", aggfunc="max")
    ids = sorted(set(assigned.index) & set(truth["response_id"]))
    true = true_theme_matrix(truth, ids, [t for t, _ in themes])
    rows = []
    for theme, name in themes:
        model = (assigned.reindex(ids)[theme].fillna(0).astype(int).to_numpy()
                 if theme in assigned.columns else np.zeros(len(ids), dtype=int))
        real = true[theme].to_numpy()
        n = len(ids)
        rows.append({"theme": theme, "name": name, "n_responses": n, "n_true": int(real.sum()),
                     "n_assigned": int(model.sum()), "pct_true": real.mean() if n else np.nan,
                     "pct_assigned": model.mean() if n else np.nan, "kappa": kappa(real, model) if n else np.nan})
    return pd.DataFrame(rows, columns=COLUMNS)


def theme_summary(table: pd.DataFrame) -> dict[str, object]:
    """Mean kappa, and the most prevalent theme by the truth and by the coding."""
    if table.empty:
        return {"n_themes": 0}
    top_true = table.sort_values(["pct_true", "theme"], ascending=[False, True]).iloc[0]
    top_model = table.sort_values(["pct_assigned", "theme"], ascending=[False, True]).iloc[0]
    return {"n_themes": int(len(table)), "n_responses": int(table["n_responses"].iloc[0]),
            "mean_kappa": float(table["kappa"].mean()), "min_kappa": float(table["kappa"].min()),
            "top_true": str(top_true["name"]), "pct_top_true": float(top_true["pct_true"]),
            "top_assigned": str(top_model["name"]), "pct_top_assigned": float(top_model["pct_assigned"]),
            "top_agree": bool(top_true["theme"] == top_model["theme"])}
