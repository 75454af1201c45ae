"""Metrics of the theme model: score cuts, topic coherence and topic stability.

- ``best_f1_threshold(y, scores)``: the cut of ``scores >= cut`` that maximises F1
  against 0/1 ``y`` (and that F1); ``best_kappa_threshold(y, scores)``: the cut that
  maximises Cohen's kappa instead (and that kappa); ``precision_threshold(y, scores, p)``:
  the lowest cut whose assignments reach precision ``p``;
- ``npmi_coherence(top_terms, doc_term)``: mean normalised PMI of a topic's top terms
  by document co-occurrence (Bouma 2009; Roeder, Both and Hinneburg 2015);
- ``jaccard(a, b)`` and ``matched_jaccard(ref, other)``: the overlap of two term sets,
  and of two sets of topics paired one-to-one by the Hungarian method (the stability
  of topics over restarts).
"""
from __future__ import annotations

from itertools import combinations
from typing import Any, Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment


def _cuts(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate cuts of ``scores >= cut``, highest first: (sorted scores, true positives
    and assignments at each, and whether each ends a block of equal scores, the only
    places a cut can fall)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    tp = np.cumsum(y[order]).astype(float)
    assigned = np.arange(1, len(s) + 1, dtype=float)
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return s_sorted, tp, assigned, last


def _best_cut(s_sorted: np.ndarray, value: np.ndarray, last: np.ndarray) -> tuple[float, float]:
    """(cut, value) at the highest ``value`` among the block ends; ties go to the higher cut."""
    value = np.where(last, value, -np.inf)
    best = int(np.argmax(value))
    return float(s_sorted[best]), float(value[best])


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Return (threshold, F1): the score cut that maximises F1 of ``scores >= cut`` for 0/1 ``y_true``.

    Ties go to the higher cut (fewer assignments). With no positives, returns (inf, 0).
    """
    s_sorted, tp, assigned, last = _cuts(y_true, scores)
    n_pos = tp[-1] if len(tp) else 0.0
    if n_pos == 0:
        return float("inf"), 0.0
    return _best_cut(s_sorted, 2 * tp / (assigned + n_pos), last)


def best_kappa_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Return (threshold, kappa): the score cut that maximises Cohen's kappa of ``scores >= cut`` against 0/1 ``y_true``.

    For every candidate cut the 2x2 table comes from cumulative true and false positives
    down the sorted scores; binary kappa is 2 (TP TN - FN FP) / ((TP + FP)(FP + TN) +
    (TP + FN)(FN + TN)), and 0 where that denominator is 0. Ties go to the higher cut
    (fewer assignments). With no positives, returns (inf, 0).
    """
    s_sorted, tp, assigned, last = _cuts(y_true, scores)
    n, n_pos = len(tp), (tp[-1] if len(tp) else 0.0)
    if n_pos == 0:
        return float("inf"), 0.0
    fp = assigned - tp
    fn, tn = n_pos - tp, (n - n_pos) - fp
    den = (tp + fp) * (fp + tn) + (tp + fn) * (fn + tn)
    kappa = np.divide(2.0 * (tp * tn - fn * fp), den, out=np.zeros(n), where=den > 0)
    return _best_cut(s_sorted, kappa, last)


def precision_threshold(y_true: np.ndarray, scores: np.ndarray, min_precision: float) -> float:
    """Return the lowest score cut whose assignments ``scores >= cut`` reach ``min_precision`` (inf if none)."""
    s_sorted, tp, assigned, last = _cuts(y_true, scores)
    if not len(tp) or tp[-1] == 0:
        return float("inf")
    ok = np.where(last & (tp / assigned >= min_precision))[0]
    return float(s_sorted[ok.max()]) if len(ok) else float("inf")


def npmi_coherence(top_terms: Sequence[int], doc_term: sparse.spmatrix) -> float:
    """Mean normalised PMI over pairs of ``top_terms`` (column indices) by document co-occurrence.

    NPMI(a, b) = log(P(a,b) / (P(a) P(b))) / -log P(a,b), probabilities from the share of
    documents containing the terms; a pair that never co-occurs scores -1 (Bouma 2009;
    Roeder, Both and Hinneburg 2015). Returns nan for fewer than two terms.
    """
    terms = list(top_terms)
    if len(terms) < 2:
        return float("nan")
    B = sparse.csc_matrix(doc_term[:, terms] > 0, dtype=float)
    n = B.shape[0]
    df = np.asarray(B.sum(axis=0)).ravel() / n
    co = (B.T @ B).toarray() / n
    vals = []
    for i, j in combinations(range(len(terms)), 2):
        pij = co[i, j]
        if pij <= 0 or df[i] <= 0 or df[j] <= 0:
            vals.append(-1.0)
        elif pij >= 1.0:
            vals.append(1.0)
        else:
            vals.append(np.log(pij / (df[i] * df[j])) / -np.log(pij))
    return float(np.mean(vals))


def jaccard(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Jaccard index of two term sets (0 when both are empty)."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def matched_jaccard(ref: Sequence[Sequence[Any]], other: Sequence[Sequence[Any]]) -> float:
    """Mean top-term Jaccard of topics paired one-to-one by the Hungarian method (max total Jaccard)."""
    if not ref or not other:
        return float("nan")
    J = np.array([[jaccard(a, b) for b in other] for a in ref])
    rows, cols = linear_sum_assignment(-J)
    return float(J[rows, cols].sum() / max(len(ref), len(other)))
