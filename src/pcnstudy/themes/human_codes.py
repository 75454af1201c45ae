"""The guided model against a researcher's codes: cross-validated predictions, agreement,
the learning curve.

- ``codes_matrix(codes, ids, themes)``: documents x themes 0/1 of the human codes, -1
  for uncoded documents (the model's ``y``);
- ``cross_validated_predictions(texts, codebook, Y, seed)``: the model's assignments of
  each coded document from a fit that did not see its codes;
- ``agreement_with_codes(ids, themes, Y, model_pred, keyword, codes)``: agreement.csv, per
  theme and method (model, keyword) kappa, alpha, precision, recall, F1; a researcher's
  code outside the codebook (``codes`` rows whose theme is not in ``themes``) is kept as
  its own rows (``in_codebook`` false), against predictions of none, as neither method
  can assign it;
- ``learning_curve(texts, codebook, Y, seed)``: held-out mean kappa against the number
  of coded examples per theme (learning_curve.csv).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from pcnstudy.core.progress import progress

from pcnstudy.themes.agreement import agreement_table, cohen_kappa
from pcnstudy.themes.codebook import Codebook
from pcnstudy.themes.coding import fit_model, long_codes

LEARNING_SIZES = (10, 25, 50, 100)


def codes_matrix(codes: pd.DataFrame, ids: Sequence[str], themes: Sequence[str]) -> np.ndarray:
    """Documents x themes matrix of human codes: 0/1 for coded documents, -1 for uncoded ones."""
    index = {doc: i for i, doc in enumerate(ids)}
    col = {t: j for j, t in enumerate(themes)}
    Y = np.full((len(ids), len(themes)), -1, dtype=int)
    coded = sorted({index[d] for d in codes["id"] if d in index})
    Y[coded, :] = 0
    for doc, theme in zip(codes["id"], codes["theme"]):
        if doc in index and theme in col:
            Y[index[doc], col[theme]] = 1
    return Y


def cross_validated_predictions(texts: Sequence[str], codebook: Codebook, Y: np.ndarray, seed: int,
                                n_folds: int = 3) -> np.ndarray:
    """Model predictions for the coded documents, each from a fit that did not see its codes.

    Coded documents are split into ``n_folds`` folds (seeded); for each fold the model is
    fitted with the other folds' codes (the fold's documents uncoded) and predicts the fold.
    Uncoded rows of the result are -1.
    """
    coded = np.where((Y >= 0).all(axis=1))[0]
    out = np.full(Y.shape, -1, dtype=int)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(coded)) % n_folds
    for f in progress(range(n_folds), desc="cross-validating", leave=False):
        held = coded[fold_of == f]
        Yf = Y.copy()
        Yf[held] = -1
        model = fit_model(texts, codebook, 0, seed, Yf)
        out[held] = model.predict([texts[i] for i in held])
    return out


def learning_curve(texts: Sequence[str], codebook: Codebook, Y: np.ndarray, seed: int,
                   sizes: Sequence[int] = LEARNING_SIZES, min_support: int = 5, repeats: int = 1) -> pd.DataFrame:
    """Mean per-theme kappa on held-out coded documents against the number of coded examples per theme.

    The coded documents are split (seeded) into a training pool (two thirds) and an
    evaluation set; for each size n, up to n pool documents carrying each theme are
    drawn (with every code they carry) and the model is fitted with those codes only.
    Rows: method (keyword, zero_shot, model), n_per_theme, repeat, n_coded, mean_kappa,
    n_themes (themes with >= ``min_support`` evaluation examples).
    """
    coded = np.where((Y >= 0).all(axis=1))[0]
    rows = []
    for rep in range(repeats):
        rng = np.random.default_rng(seed + rep)
        perm = rng.permutation(coded)
        n_eval = max(1, len(perm) // 3)
        evaluate, pool = np.sort(perm[:n_eval]), perm[n_eval:]
        support = Y[evaluate].sum(axis=0) >= min_support
        if not support.any():
            continue

        def mean_kappa(pred: np.ndarray) -> float:
            vals = [cohen_kappa(pred[:, j], Y[evaluate, j]) for j in np.where(support)[0]]
            vals = [v for v in vals if np.isfinite(v)]
            return float(np.mean(vals)) if vals else float("nan")

        eval_texts = [texts[i] for i in evaluate]
        base = fit_model(texts, codebook, 0, seed, None)
        rows.append({"method": "keyword", "n_per_theme": 0, "repeat": rep, "n_coded": 0,
                     "mean_kappa": mean_kappa(base.keyword_predict(eval_texts)), "n_themes": int(support.sum())})
        rows.append({"method": "zero_shot", "n_per_theme": 0, "repeat": rep, "n_coded": 0,
                     "mean_kappa": mean_kappa(base.predict(eval_texts)), "n_themes": int(support.sum())})
        max_pos = int(Y[pool].sum(axis=0).max()) if len(pool) else 0
        for n in progress([s for s in sizes if s <= max(max_pos, min(sizes))], desc="learning curve", leave=False):
            chosen: set[int] = set()
            for j in range(Y.shape[1]):
                pos = pool[Y[pool, j] == 1]
                if len(pos):
                    chosen.update(rng.choice(pos, size=min(n, len(pos)), replace=False).tolist())
            Yn = np.full(Y.shape, -1, dtype=int)
            idx = np.array(sorted(chosen), dtype=int)
            Yn[idx] = Y[idx]
            model = fit_model(texts, codebook, 0, seed, Yn)
            rows.append({"method": "model", "n_per_theme": n, "repeat": rep, "n_coded": len(idx),
                         "mean_kappa": mean_kappa(model.predict(eval_texts)), "n_themes": int(support.sum())})
    return pd.DataFrame(rows, columns=["method", "n_per_theme", "repeat", "n_coded", "mean_kappa", "n_themes"])


def agreement_with_codes(ids: Sequence[str], themes: Sequence[str], Y: np.ndarray, model_pred: np.ndarray,
                         keyword: np.ndarray, codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """agreement.csv: per theme and method (model cross-validated, keyword rule) kappa, alpha, P, R, F1.

    Column ``in_codebook`` is true for the codebook's themes; with ``codes`` (id, theme),
    each code whose theme is not a codebook theme adds rows of its own (false), its
    human codes on the coded documents against no prediction.
    """
    coded = np.where((Y >= 0).all(axis=1))[0]
    coded_ids = [ids[i] for i in coded]
    gold = long_codes(coded_ids, themes, Y[coded])
    extra: list[str] = []
    extra_gold = pd.DataFrame(columns=["id", "theme"])
    if codes is not None and len(codes):
        outside = codes[~codes["theme"].isin(list(themes)) & (codes["theme"] != "") & codes["id"].isin(coded_ids)]
        extra = sorted(set(outside["theme"]))
        extra_gold = outside[["id", "theme"]].drop_duplicates()
    tables = []
    for method, pred in (("model", model_pred[coded]), ("keyword", keyword[coded])):
        table = agreement_table(long_codes(coded_ids, themes, pred), gold, list(themes), ids=coded_ids)
        table.insert(0, "method", method)
        table["in_codebook"] = True
        tables.append(table)
        if extra:
            none = pd.DataFrame({"id": pd.Series(dtype=str), "theme": pd.Series(dtype=str)})
            table = agreement_table(none, extra_gold, extra, ids=coded_ids)
            table.insert(0, "method", method)
            table["in_codebook"] = False
            tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    return out.sort_values(["method", "theme"], kind="stable").reset_index(drop=True)
