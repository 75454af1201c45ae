"""Whether a theme's corpus expansion earns its keep: the held-out seed check.

Without human codes the model cannot see whether the texts its corpus expansion adds to
a theme are the theme's, but it can see whether the expansion finds texts it was not
told about. The theme's seed terms are dealt into groups; for each group, an expander
trained on the texts matching the *other* seed terms (every seed term masked from its
features, as in the real expansion) ranks the texts those other terms miss, and the
check counts how many of the texts it would add match the held-out terms. Taking every
seed match as the theme's texts, the F1 of "the other terms' matches plus the top
r x (their count) ranked texts" against "all seed matches", minus the F1 of the other
terms' matches alone, is the gain of expanding by the ratio r. Adding texts helps F1
(and, at the low prevalences of themes, Cohen's kappa) when they hit at a rate above
about half the F1 already reached, so the check passes only an expansion that recovers
held-out seed matches with good precision. The size of the expansion is a multiple of
the theme's seed-matched count (the threshold follows the seed-matched prevalence), the
ratio with the largest mean gain over the groups; a theme whose best mean gain is not
above zero keeps its seed terms alone.

- ``seed_groups(M, n_groups)``: the seed terms that match some text, dealt round-robin
  by frequency into at most ``n_groups`` groups;
- ``added_f1_gain(scores, base, target, weights, ratios)``: F1 change from adding the
  top-ranked texts outside ``base``, per ratio;
- ``held_out_seed_check(rank, M, weights, ratios, n_groups, min_docs)`` ->
  ``ExpansionCheck`` (mean gain per ratio, the chosen ratio, keep or not);
- ``expansion_cut(scores, matched, ratio, weights)``: the score of the last text an
  expansion by ``ratio`` adds (the assignment threshold);
- ``mixture_precision(scores, seed, added, weights)``: the share of a theme's texts
  among ``added`` texts estimated from a seed-masked classifier's out-of-fold scores.
  The mean score of a set of texts is the mix of the means of theme and non-theme texts
  in proportion to its share of theme texts, so that share is (mean of added - mean of
  the unmatched) / (mean of the seed matches - mean of the unmatched), with the seed
  matches standing for theme texts and the unmatched for the rest (a few theme texts
  among the unmatched lift their mean, so the estimate errs low). The classifier cannot
  see the seed terms' words, so the estimate rests on the added texts' other words:
  the evidence the phrase-variant guard uses (``topics.GuidedThemeModel``) to keep a
  theme's multi-word seeds matched with an inserted word only where the texts they add
  read like its seed matches (estimate at least ``VARIANT_PRECISION``: adding texts at
  a precision above half the F1 already reached raises F1, and F1 is at most 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

EXPANSION_RATIOS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
VARIANT_PRECISION = 0.5


def seed_groups(M: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Columns of ``M`` (texts x seed terms) that match some text, dealt round-robin by
    decreasing frequency (ties by column) into at most ``n_groups`` groups."""
    freq = np.asarray(M).sum(axis=0)
    used = np.where(freq > 0)[0]
    order = used[np.lexsort((used, -freq[used]))]
    k = min(int(n_groups), len(order))
    return [np.sort(order[g::k]) for g in range(k)] if k else []


def added_f1_gain(scores: np.ndarray, base: np.ndarray, target: np.ndarray, weights: np.ndarray,
                  ratios: Sequence[float] = EXPANSION_RATIOS) -> np.ndarray:
    """F1 gain, per ratio r, of adding to ``base`` the top-scored texts outside it (r x the
    weight of ``base``), against the truth ``base | target``. Weights count each text's copies.

    Texts are ranked by decreasing score (ties by position); a ratio that needs more texts
    than there are gives nan.
    """
    base, target = np.asarray(base, bool), np.asarray(target, bool)
    w = np.asarray(weights, float)
    n_base, n_truth = w[base].sum(), w[base | target].sum()
    f1_base = 2 * n_base / (n_base + n_truth) if n_truth else 0.0
    outside = np.where(~base)[0]
    order = outside[np.lexsort((outside, -np.asarray(scores, float)[outside]))]
    added = np.cumsum(w[order])
    hits = np.cumsum(w[order] * target[order])
    gains = []
    for r in ratios:
        want = r * n_base
        k = int(np.searchsorted(added, want - 1e-9))  # the first rank whose cumulative weight reaches r x base
        if want < 1 or k >= len(order):
            gains.append(np.nan)
            continue
        tp = n_base + hits[k]
        gains.append(2 * tp / (n_base + added[k] + n_truth) - f1_base)
    return np.array(gains)


@dataclass
class ExpansionCheck:
    """The held-out seed check of one theme: ``gains`` (mean F1 gain per ratio over the
    groups, nan where untested), ``ratio`` (the best one, or nan), ``gain`` (its mean
    gain), ``keep`` (gain above zero), ``n_groups`` (groups tested)."""

    ratios: tuple[float, ...]
    gains: np.ndarray = field(repr=False)
    ratio: float
    gain: float
    keep: bool
    n_groups: int


def held_out_seed_check(rank: Callable[[np.ndarray], np.ndarray | None], M: np.ndarray, weights: np.ndarray,
                        ratios: Sequence[float] = EXPANSION_RATIOS, n_groups: int = 2,
                        min_docs: int = 5) -> ExpansionCheck:
    """Hide each group of seed terms in turn and measure whether the expansion recovers it.

    ``rank(labels)`` gives out-of-fold scores of every text from an expander trained on
    0/1 ``labels`` (the texts matching the visible seed terms), or None when it cannot be
    trained; ``M`` is texts x seed terms (``seed_terms.seed_term_matches``); ``weights``
    each text's number of copies. A group is tested when the visible terms match at least
    ``min_docs`` texts and the hidden ones match some text the visible ones miss.
    """
    ratios = tuple(float(r) for r in ratios)
    M = np.asarray(M, bool)
    rows = []
    for hidden in seed_groups(M, n_groups):
        visible = np.setdiff1d(np.arange(M.shape[1]), hidden)
        base = M[:, visible].any(axis=1)
        target = M[:, hidden].any(axis=1) & ~base
        if weights[base].sum() < min_docs or not target.any():
            continue
        scores = rank(base.astype(int))
        if scores is None:
            continue
        rows.append(added_f1_gain(scores, base, target, weights, ratios))
    if not rows:
        return ExpansionCheck(ratios, np.full(len(ratios), np.nan), float("nan"), float("nan"), False, 0)
    table = np.vstack(rows)
    tested = ~np.isnan(table).all(axis=0)
    gains = np.full(len(ratios), np.nan)
    gains[tested] = np.nanmean(table[:, tested], axis=0)
    if not tested.any():
        return ExpansionCheck(ratios, gains, float("nan"), float("nan"), False, len(rows))
    best = int(np.nanargmax(gains))
    return ExpansionCheck(ratios, gains, ratios[best], float(gains[best]), bool(gains[best] > 0), len(rows))


def expansion_cut(scores: np.ndarray, matched: np.ndarray, ratio: float, weights: np.ndarray) -> float:
    """The score of the last text an expansion by ``ratio`` adds: unmatched texts ranked by
    decreasing score until their weight reaches ``ratio`` x the matched texts' weight
    (inf when nothing would be added)."""
    matched = np.asarray(matched, bool)
    w = np.asarray(weights, float)
    want = float(ratio) * w[matched].sum()
    outside = np.where(~matched)[0]
    if not np.isfinite(want) or want < 1 or not len(outside):
        return float("inf")
    s = np.asarray(scores, float)
    order = outside[np.lexsort((outside, -s[outside]))]
    k = min(int(np.searchsorted(np.cumsum(w[order]), want - 1e-9)), len(order) - 1)
    return float(s[order[k]])


def mixture_precision(scores: np.ndarray, seed: np.ndarray, added: np.ndarray, weights: np.ndarray) -> float:
    """Estimated share of theme texts among ``added``: (weighted mean score of ``added`` -
    that of the texts neither ``seed`` nor ``added``) / (that of ``seed`` - that of the
    rest); nan when a set is empty or the seed matches do not score above the rest."""
    s = np.asarray(scores, float)
    w = np.asarray(weights, float)
    seed, added = np.asarray(seed, bool), np.asarray(added, bool)
    rest = ~seed & ~added
    if not (w[seed].sum() > 0 and w[added].sum() > 0 and w[rest].sum() > 0):
        return float("nan")
    m_seed, m_added, m_rest = (float(np.average(s[m], weights=w[m])) for m in (seed, added, rest))
    if not m_seed > m_rest:
        return float("nan")
    return (m_added - m_rest) / (m_seed - m_rest)
