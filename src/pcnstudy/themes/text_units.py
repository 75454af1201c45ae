"""Text units for the free topics: sentences, identical texts, near-duplicate copies.

- ``split_sentences(text)``: a response's sentences (split at ., ! or ? followed by
  space, and at line breaks);
- ``distinct_rows(X)``: identical texts grouped (first occurrence, group of each text,
  group sizes), so that work on a text is done once and shared by its copies;
- ``near_duplicate_groups(texts)``: texts that say the same thing with a few words
  changed, added or misspelt grouped by shingle containment (one group number a text).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD_RE = re.compile(r"[a-z0-9']+")


def split_sentences(text: Any) -> list[str]:
    """Split a response into sentences at ., ! or ? followed by space, and at line breaks."""
    if not isinstance(text, str):
        return []
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def distinct_rows(X: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group identical texts: (index of each distinct text's first occurrence, in order of
    appearance; each text's group; each group's count). ``X[first][inverse]`` gives ``X`` back."""
    texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in X]
    position = {t: k for k, t in enumerate(dict.fromkeys(texts))}
    inverse = np.fromiter(map(position.__getitem__, texts), dtype=np.int64, count=len(texts))
    # ids follow first appearance, so the first index of each id is its first occurrence
    first = np.unique(inverse, return_index=True)[1].astype(np.int64)
    counts = np.bincount(inverse, minlength=len(position)).astype(float)
    return first, inverse, counts


def near_duplicate_groups(texts: Sequence[str], shingle: int = 3, min_containment: float = 0.5) -> np.ndarray:
    """Group texts that say the same thing with a few words changed, added or misspelt.

    Each text is reduced to its set of word ``shingle``-grams (texts shorter than that:
    the whole word sequence); two texts join one group when at least
    ``min_containment`` of the shorter one's shingles occur in the other (the
    containment measure of near-duplicate detection, Broder 1997), so "since the
    programme, we sorted out an old disagreement ..." joins "we sorted out an old
    disagreement ...". Words are compared by their sets of letters, so that a doubled
    or swapped letter does not split a copy from its original. Groups are closed
    transitively. Returns one group number per
    text (the smallest index in its group).
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # texts with the same set of shingles are linked to each other (containment 1) and to
    # the same other texts, so the links are found among the distinct shingle sets
    letters: dict[str, str] = {}
    set_of: dict[frozenset, int] = {}
    owner = np.empty(n, dtype=np.int64)
    vocab: dict[tuple[str, ...], int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        # each word by its set of letters: a doubled or swapped letter ("talkinng",
        # "abuot") leaves it unchanged, so a misspelt copy still shares its shingles
        words = tuple([letters[w] if w in letters else letters.setdefault(w, "".join(sorted(set(w))))
                       for w in _WORD_RE.findall(str(text).lower())])
        grams = frozenset({words[k:k + shingle] for k in range(len(words) - shingle + 1)}
                          if len(words) >= shingle else {words})
        u = set_of.get(grams)
        if u is None:
            u = set_of[grams] = len(set_of)
            for g in grams:
                rows.append(u)
                cols.append(vocab.setdefault(g, len(vocab)))
        owner[i] = u
    m = len(set_of)
    B = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, len(vocab)))
    size = np.asarray(B.sum(axis=1)).ravel()
    co = (B @ B.T).tocsr()
    row = np.repeat(np.arange(m), np.diff(co.indptr))
    col = co.indices
    smaller = np.minimum(size[row], size[col])
    keep = (row < col) & (co.data >= min_containment * np.maximum(smaller, 1))
    links = sparse.csr_matrix((np.ones(int(keep.sum())), (row[keep], col[keep])), shape=(m, m))
    _, label_u = connected_components(links, directed=False)
    label = label_u[owner]
    first = np.full(label.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    return first[label]
