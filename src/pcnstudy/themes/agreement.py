"""Agreement between the theme model's codes and a human coder's codes.

Takes two long tables of assigned codes, ``pred`` (the model, or a second coder) and
``gold`` (the reference coder), each with columns ``id, theme`` and one row per code
a document carries (a table with an ``assigned`` column, such as ``doc_themes.csv``,
counts only its rows with ``assigned == 1``), plus the list of themes and the ids of
the documents that were coded (a document in ``ids`` with no row carries no theme).

Gives:

- ``agreement_table``: one row per theme with n_docs, n_gold, n_pred, tp, fp, fn,
  precision, recall, f1, kappa (Cohen's kappa of the two binary codings of that theme)
  and alpha (Krippendorff's alpha, nominal, two coders, on the same binary codings);
- ``summarise_agreement``: the table's summary: mean per-theme kappa and alpha over
  themes with at least ``min_support`` gold examples, micro- and macro-averaged
  precision, recall and F1;
- ``multilabel_agreement``: agreement on each document's whole set of themes:
  Krippendorff's alpha with the MASI distance (Passonneau 2006), computed with nltk,
  exact-set agreement and mean Jaccard similarity;
- ``learning_curve``: held-out agreement of a model trained on k human-coded
  examples per theme (``sample_per_label``), for several k and repeated draws;
- building blocks: ``cohen_kappa``, ``krippendorff_alpha_nominal``, ``codes_to_matrix``
  and ``matrix_to_codes``.

Undefined statistics are NaN, never a made-up number: kappa and alpha when neither
coder varies on a theme (both mark every document the same way), precision when the
model assigns a theme to no document, recall when the gold codes never use it.
Cohen's kappa is scikit-learn's ``cohen_kappa_score``, Krippendorff's alpha the
``krippendorff`` package's; the wrappers add that NaN rule and accept any labels. Both
are checked against textbook values and Krippendorff's published example, and alpha
also against nltk (tests/test_agreement.py, reference values in
tests/results/agreement.json).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import krippendorff
import numpy as np
import pandas as pd
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import masi_distance
from sklearn.metrics import cohen_kappa_score
from pcnstudy.core.progress import progress

TABLE_COLUMNS = [
    "theme", "n_docs", "n_gold", "n_pred", "tp", "fp", "fn",
    "precision", "recall", "f1", "kappa", "alpha",
]


def _check_codes(codes: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return the (id, theme) rows of a code table, keeping only assigned rows."""
    missing = [col for col in ("id", "theme") if col not in codes.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)} (need id, theme)")
    table = codes
    if "assigned" in codes.columns:
        table = codes[pd.to_numeric(codes["assigned"], errors="coerce").fillna(0) > 0]
    table = table[["id", "theme"]].dropna()
    return table.astype({"id": str, "theme": str}).drop_duplicates()


def codes_to_matrix(codes: pd.DataFrame, ids: Iterable, themes: Sequence[str]) -> pd.DataFrame:
    """Return a 0/1 matrix (index: ids as str, columns: themes) of a long code table.

    Codes for ids outside ``ids`` or themes outside ``themes`` are ignored.
    """
    table = _check_codes(codes, "codes")
    index = pd.Index([str(i) for i in ids], name="id")
    matrix = pd.DataFrame(0, index=index, columns=pd.Index(list(themes), name="theme"), dtype=int)
    table = table[table["id"].isin(index) & table["theme"].isin(matrix.columns)]
    values = matrix.to_numpy(copy=True)
    values[index.get_indexer(table["id"]), matrix.columns.get_indexer(table["theme"])] = 1
    return pd.DataFrame(values, index=index, columns=matrix.columns)


def matrix_to_codes(matrix: pd.DataFrame) -> pd.DataFrame:
    """Return the long (id, theme) table of a 0/1 matrix's non-zero cells, sorted."""
    stacked = matrix.stack()
    stacked = stacked[stacked.astype(float) > 0]
    rows = [(str(doc), str(theme)) for doc, theme in stacked.index]
    return pd.DataFrame(sorted(rows), columns=["id", "theme"])


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two codings of the same items (any hashable labels), by
    ``sklearn.metrics.cohen_kappa_score``.

    kappa = (p_o - p_e) / (1 - p_e) with p_e from each coder's own marginals;
    NaN when p_e == 1 (neither coder varies, on the same single label) or there are no items.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("cohen_kappa: the two codings must be 1-d and of equal length")
    if len(a) == 0:
        return math.nan
    labels = np.unique(np.concatenate([a, b]))
    if len(labels) < 2:  # p_e == 1: undefined (scikit-learn would warn and give NaN)
        return math.nan
    return float(cohen_kappa_score(a, b, labels=labels))


def krippendorff_alpha_nominal(data: np.ndarray | Sequence[Sequence]) -> float:
    """Krippendorff's alpha for nominal data, by the ``krippendorff`` package.

    ``data`` is the reliability matrix: one row per coder, one column per unit, with
    missing values as NaN/None, values of any hashable type. Units with fewer than two
    values are not pairable and do not count. NaN when the pairable values hold a single
    category (alpha is undefined there; the package would raise or divide by zero).
    """
    frame = pd.DataFrame(np.asarray(data, dtype=object))
    codes, values = pd.factorize(pd.Series(frame.to_numpy().ravel()), use_na_sentinel=True)
    codes = codes.reshape(frame.shape)  # coders x units, -1 where missing
    pairable = (codes >= 0).sum(axis=0) >= 2
    if len(np.unique(codes[:, pairable][codes[:, pairable] >= 0])) < 2:
        return math.nan
    ratings = np.where(codes >= 0, codes, np.nan).astype(float)
    return float(krippendorff.alpha(reliability_data=ratings, value_domain=np.arange(len(values)),
                                    level_of_measurement="nominal"))


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


def _f1(tp: int, fp: int, fn: int) -> float:
    den = 2 * tp + fp + fn
    return _ratio(2 * tp, den)


def agreement_table(
    pred: pd.DataFrame,
    gold: pd.DataFrame,
    themes: list[str],
    ids: list | None = None,
) -> pd.DataFrame:
    """Per-theme agreement of ``pred`` with ``gold`` (both long tables of id, theme).

    ``ids`` is the set of coded documents (default: every id in either table); codes
    for other ids, and for themes not in ``themes``, are ignored. Rows follow
    ``themes``' order; columns are ``TABLE_COLUMNS``.
    """
    pred_codes = _check_codes(pred, "pred")
    gold_codes = _check_codes(gold, "gold")
    if ids is None:
        ids = sorted(set(pred_codes["id"]) | set(gold_codes["id"]))
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("agreement_table: ids holds duplicates")
    p = codes_to_matrix(pred_codes, ids, themes)
    g = codes_to_matrix(gold_codes, ids, themes)
    return agreement_table_from_matrices(p, g)


def agreement_table_from_matrices(pred: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Per-theme agreement of two 0/1 matrices with the same index and columns."""
    if not pred.index.equals(gold.index) or list(pred.columns) != list(gold.columns):
        raise ValueError("agreement_table: pred and gold matrices differ in ids or themes")
    rows = []
    for theme in pred.columns:
        p = pred[theme].to_numpy().astype(int)
        g = gold[theme].to_numpy().astype(int)
        tp = int(np.sum((p == 1) & (g == 1)))
        fp = int(np.sum((p == 1) & (g == 0)))
        fn = int(np.sum((p == 0) & (g == 1)))
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        rows.append({
            "theme": str(theme),
            "n_docs": len(p),
            "n_gold": int(g.sum()),
            "n_pred": int(p.sum()),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": precision,
            "recall": recall,
            "f1": _f1(tp, fp, fn),
            "kappa": cohen_kappa(p, g),
            "alpha": krippendorff_alpha_nominal(np.vstack([p, g])),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def summarise_agreement(table: pd.DataFrame, min_support: int = 5) -> dict[str, float]:
    """Summarise an ``agreement_table``.

    Returns a dict of plain numbers: ``mean_kappa`` and ``mean_alpha`` (over themes with
    ``n_gold >= min_support`` and a defined value), ``macro_f1`` (over the same themes),
    ``micro_precision``, ``micro_recall``, ``micro_f1`` (pooled tp/fp/fn over all
    themes), and the counts ``n_themes``, ``n_themes_supported``, ``min_support``.
    """
    supported = table[table["n_gold"] >= min_support]
    tp, fp, fn = (int(table[c].sum()) for c in ("tp", "fp", "fn"))
    micro_p = _ratio(tp, tp + fp)
    micro_r = _ratio(tp, tp + fn)

    def mean(col: str) -> float:
        values = supported[col].dropna()
        return float(values.mean()) if len(values) else math.nan

    return {
        "mean_kappa": mean("kappa"),
        "mean_alpha": mean("alpha"),
        "macro_f1": float(supported["f1"].fillna(0.0).mean()) if len(supported) else math.nan,
        "micro_precision": micro_p,
        "micro_recall": micro_r,
        "micro_f1": _f1(tp, fp, fn),
        "n_themes": int(len(table)),
        "n_themes_supported": int(len(supported)),
        "min_support": int(min_support),
    }


def _masi_or_empty(a: frozenset, b: frozenset) -> float:
    """MASI distance, with two empty sets at distance 0 (nltk divides by zero there)."""
    if not a and not b:
        return 0.0
    return masi_distance(a, b)


def multilabel_agreement(
    pred: pd.DataFrame,
    gold: pd.DataFrame,
    themes: list[str],
    ids: list | None = None,
) -> dict[str, float]:
    """Agreement on whole theme sets per document.

    Returns ``alpha_masi`` (Krippendorff's alpha with the MASI set distance, from
    nltk's AnnotationTask; an empty set is a legitimate label: "no theme"),
    ``exact_match`` (share of documents with identical sets), ``mean_jaccard``
    (two empty sets count as 1) and ``n_docs``.
    """
    pred_codes = _check_codes(pred, "pred")
    gold_codes = _check_codes(gold, "gold")
    if ids is None:
        ids = sorted(set(pred_codes["id"]) | set(gold_codes["id"]))
    ids = [str(i) for i in ids]
    p = codes_to_matrix(pred_codes, ids, themes)
    g = codes_to_matrix(gold_codes, ids, themes)
    cols = np.asarray(p.columns)
    sets_p = [frozenset(cols[row.astype(bool)]) for row in p.to_numpy()]
    sets_g = [frozenset(cols[row.astype(bool)]) for row in g.to_numpy()]
    if not ids:
        return {"alpha_masi": math.nan, "exact_match": math.nan, "mean_jaccard": math.nan, "n_docs": 0}
    triples = [("pred", doc, s) for doc, s in zip(ids, sets_p)]
    triples += [("gold", doc, s) for doc, s in zip(ids, sets_g)]
    distinct = set(sets_p) | set(sets_g)
    if len(distinct) < 2:
        alpha = math.nan
    else:
        alpha = float(AnnotationTask(data=triples, distance=_masi_or_empty).alpha())
    jaccard = [
        1.0 if not (a | b) else len(a & b) / len(a | b) for a, b in zip(sets_p, sets_g)
    ]
    return {
        "alpha_masi": alpha,
        "exact_match": float(np.mean([a == b for a, b in zip(sets_p, sets_g)])),
        "mean_jaccard": float(np.mean(jaccard)),
        "n_docs": len(ids),
    }


def sample_per_label(
    gold: pd.DataFrame,
    themes: Sequence[str],
    k: int,
    seed: int,
    ids: Sequence | None = None,
) -> list[str]:
    """Draw up to ``k`` gold-coded documents per theme (without replacement); return their ids.

    Themes are visited in the given order; documents already drawn for an earlier theme
    count towards a later theme they also carry, so each theme gets at least
    ``min(k, its number of documents)`` examples. The drawn documents keep all their
    gold codes. ``ids`` limits the pool (default: every id in ``gold``). Sorted ids.
    """
    codes = _check_codes(gold, "gold")
    if ids is not None:
        codes = codes[codes["id"].isin({str(i) for i in ids})]
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for theme in themes:
        pool = np.array(sorted(codes.loc[codes["theme"] == theme, "id"].unique()))
        have = int(np.isin(pool, list(chosen)).sum()) if chosen else 0
        rest = pool[~np.isin(pool, list(chosen))] if chosen else pool
        need = max(0, min(k - have, len(rest)))
        if need:
            chosen.update(rng.choice(rest, size=need, replace=False).tolist())
    return sorted(chosen)


def learning_curve(
    fit_predict,
    gold: pd.DataFrame,
    themes: list[str],
    ids: Sequence,
    sizes: Sequence[int] = (10, 25, 50, 100),
    seed: int = 0,
    n_repeats: int = 3,
    min_support: int = 5,
) -> pd.DataFrame:
    """Agreement on held-out documents as the number of human-coded examples grows.

    For each size k and repeat r, ``sample_per_label`` draws up to k coded documents
    per theme (seed derived from ``seed``, k and r); ``fit_predict(train_ids,
    train_codes, test_ids)`` must return the predicted long (id, theme) codes of the
    test documents (every id in ``ids`` not drawn). Each row of the result holds size,
    repeat, n_train, n_test and the ``summarise_agreement`` figures on the test set;
    rows sorted by size and repeat.
    """
    ids = [str(i) for i in ids]
    gold_codes = _check_codes(gold, "gold")
    gold_codes = gold_codes[gold_codes["id"].isin(set(ids))]
    runs = [(k, r) for k in sizes for r in range(n_repeats)]
    rows = []
    for k, r in progress(runs, desc="learning curve", leave=False):
        run_seed = int(np.random.SeedSequence([int(seed), int(k), int(r)]).generate_state(1)[0])
        train = sample_per_label(gold_codes, themes, k, run_seed)
        train_set = set(train)
        test = [i for i in ids if i not in train_set]
        pred = fit_predict(train, gold_codes[gold_codes["id"].isin(train_set)].reset_index(drop=True), test)
        table = agreement_table(pred, gold_codes, themes, ids=test)
        summary = summarise_agreement(table, min_support=min_support)
        rows.append({"size": int(k), "repeat": r, "n_train": len(train), "n_test": len(test), **summary})
    return pd.DataFrame(rows).sort_values(["size", "repeat"], kind="stable").reset_index(drop=True)
