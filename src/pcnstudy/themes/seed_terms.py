"""The seed-term baseline: a codebook's seed terms matched in lemmatised documents.

Takes each theme's compiled seed terms (tuples of lemmas, from
``preprocess.compile_seed_terms``) and gives

- ``seed_index(themes, compiled)``: first lemma of each term -> [(theme column, term)],
  in codebook order;
- ``count_seed_terms(lemmas, index, n_themes)``: documents x themes number of distinct
  seed terms matched as contiguous lemma sequences. The plain seed-term rule, the
  baseline beside the guided model (``GuidedThemeModel.keyword_predict``), assigns a
  theme wherever its count is above 0; the model uses the counts as its first evidence;
- ``seed_term_matches(lemmas, terms)``: documents x terms 0/1 of one theme's seed terms,
  each term by itself (the held-out seed check of the corpus expansion hides some of them);
- ``phrase_variant_counts(lemmas, index, n_themes, max_gap)``: documents x themes number
  of distinct multi-word seed terms matched only with inserted words ("kept me informed"
  for the seed "kept informed"): each next word of the term within ``max_gap`` words of
  the last, in order, where the contiguous term does not occur;
- ``seed_columns(terms, vocabulary, stopwords)``: the columns of a TF-IDF vocabulary
  (stems and stem bigrams) that hold a theme's seed terms, the columns its corpus
  expansion masks.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from pcnstudy.themes.preprocess import JOINER, stem

Term = tuple[str, ...]


def seed_index(themes: Sequence[str], compiled: Mapping[str, Iterable[Term]]) -> dict[str, list[tuple[int, Term]]]:
    """First lemma of each compiled seed term -> [(theme column, term)], in codebook order."""
    index: dict[str, list[tuple[int, Term]]] = {}
    for j, theme in enumerate(themes):
        for term in compiled[theme]:
            index.setdefault(term[0], []).append((j, term))
    return index


def count_seed_terms(lemmas: Sequence[list[str]], index: Mapping[str, list[tuple[int, Term]]],
                     n_themes: int) -> np.ndarray:
    """Documents x themes number of distinct seed terms matched (contiguous lemma sequences).

    One pass over each document's lemmas, looking candidate terms up by their first
    lemma: the same counts as ``preprocess.match_seed_terms`` per theme, without trying
    every term on every document.
    """
    S = np.zeros((len(lemmas), n_themes), dtype=float)
    done: dict[int, int] = {}  # a repeated text shares its lemma list: match it once
    for i, doc in enumerate(lemmas):
        if id(doc) in done:
            S[i] = S[done[id(doc)]]
            continue
        done[id(doc)] = i
        found: set[tuple[int, Term]] = set()
        for pos, word in enumerate(doc):
            for j, term in index.get(word, ()):
                if (j, term) not in found and (len(term) == 1 or tuple(doc[pos:pos + len(term)]) == term):
                    found.add((j, term))
        for j, _ in found:
            S[i, j] += 1
    return S


def seed_term_matches(lemmas: Sequence[list[str]], terms: Sequence[Term]) -> np.ndarray:
    """Documents x terms boolean: does the document hold the seed term (a contiguous lemma sequence)."""
    terms = list(terms)
    index = seed_index(["theme"], {"theme": terms})
    column = {term: k for k, term in enumerate(terms)}
    M = np.zeros((len(lemmas), len(terms)), dtype=bool)
    done: dict[int, int] = {}  # a repeated text shares its lemma list: match it once
    for i, doc in enumerate(lemmas):
        if id(doc) in done:
            M[i] = M[done[id(doc)]]
            continue
        done[id(doc)] = i
        for pos, word in enumerate(doc):
            for _, term in index.get(word, ()):
                if len(term) == 1 or tuple(doc[pos:pos + len(term)]) == term:
                    M[i, column[term]] = True
    return M


def _gapped_at(doc: Sequence[str], pos: int, term: Term, max_gap: int) -> bool:
    """Does ``term`` occur in ``doc`` from ``pos`` (where its first word is), each next word
    at most ``max_gap`` words after the previous one (the earliest such word taken)?"""
    last = pos
    for word in term[1:]:
        window = doc[last + 1:last + 2 + max_gap]
        if word not in window:
            return False
        last += 1 + list(window).index(word)
    return True


def phrase_variant_counts(lemmas: Sequence[list[str]], index: Mapping[str, list[tuple[int, Term]]],
                          n_themes: int, max_gap: int = 1) -> np.ndarray:
    """Documents x themes number of distinct multi-word seed terms found only with up to
    ``max_gap`` inserted words between consecutive words ("kept me informed", "same
    named nurse"), not as written (those ``count_seed_terms`` counts). ``index`` as
    ``seed_index`` gives; single-word terms never count."""
    V = np.zeros((len(lemmas), n_themes), dtype=float)
    done: dict[int, int] = {}
    for i, doc in enumerate(lemmas):
        if id(doc) in done:
            V[i] = V[done[id(doc)]]
            continue
        done[id(doc)] = i
        exact: set[tuple[int, Term]] = set()
        gapped: set[tuple[int, Term]] = set()
        for pos, word in enumerate(doc):
            for j, term in index.get(word, ()):
                if len(term) == 1:
                    continue
                if tuple(doc[pos:pos + len(term)]) == term:
                    exact.add((j, term))
                elif _gapped_at(doc, pos, term, max_gap):
                    gapped.add((j, term))
        for j, _ in gapped - exact:
            V[i, j] += 1
    return V


def seed_columns(terms: Iterable[Term], vocabulary: Mapping[str, int], stopwords: set[str] | frozenset[str]) -> np.ndarray:
    """Sorted columns of ``vocabulary`` holding the stems (stop words left out) and stem
    bigrams of a theme's seed ``terms``."""
    cols = set()
    for phrase in terms:
        words = [stem(w) for w in phrase if w not in stopwords]
        for w in words:
            if w in vocabulary:
                cols.add(vocabulary[w])
        for a, b in zip(words, words[1:]):
            key = a + JOINER + b
            if key in vocabulary:
                cols.add(vocabulary[key])
    return np.array(sorted(cols), dtype=int)
