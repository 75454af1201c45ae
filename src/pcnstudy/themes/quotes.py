"""Exemplar quotes: distinct excerpts that carry the theme they illustrate, attributed safely.

- ``sentence_seed_themes(sentences, seed_terms)``: sentences x themes 0/1, the plain
  seed-term rule (``pcnstudy.themes.seed_terms``) applied to each sentence;
- ``theme_excerpt(text, theme, seed_terms)``: the sentences of a response that hold one
  of the theme's seed terms, in order, an omission marked " … "; with the number of
  other themes those sentences carry (None when no sentence holds a seed term);
- ``quote_similarity(a, b)``: the largest overlap coefficient (Szymkiewicz-Simpson),
  |A n B| / min(|A|, |B|) of content words (stop words dropped), between the two whole
  texts or between a sentence of one and a sentence of the other: 1 when one
  sentence's words are all in the other's, so a stock sentence quoted twice, alone or
  inside a longer answer, makes two quotes near-duplicates whatever surrounds it;
- ``select_quotes(doc_themes, texts, n_quotes, seed_terms=...)``: per theme up to
  ``n_quotes`` excerpts of responses assigned the theme, seed-matched ones first, then
  those whose excerpt carries the fewest other themes, then those holding the most of
  the theme's seed terms, then by score; a quote is
  between ``min_words`` and ``max_words`` words, below ``MAX_SIMILARITY`` with every
  quote already chosen (for any theme), and no person is quoted twice for one theme;
- ``quote_roles(people, min_cell)``: the role each respondent is quoted under: their
  role where at least ``min_cell`` respondents of their cohort share it, else their
  profession under the same condition, else "participant", so that no attribution
  narrows a quote to fewer than ``min_cell`` people of its cohort.
"""
from __future__ import annotations

import html
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pcnstudy.themes.preprocess import compile_seed_terms, lemma, load_stopwords, tokenize
from pcnstudy.themes.seed_terms import count_seed_terms, seed_index
from pcnstudy.themes.text_units import split_sentences

#: Two quotes whose content words overlap this much or more (overlap coefficient) are near-duplicates.
MAX_SIMILARITY = 0.5
#: The role a quote is attributed to when neither the role nor the profession is shared by enough people.
ANONYMOUS_ROLE = "participant"
QUOTE_COLUMNS = ["theme", "rank", "id", "score", "seed_matched", "cohort", "role", "text", "text_html"]
OMISSION = " … "


def sentence_seed_themes(sentences: Sequence[str], seed_terms: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Sentences x themes (``seed_terms``' order) 0/1: does the sentence hold one of the theme's seed terms."""
    return (_seed_counts(sentences, seed_terms) > 0).astype(int)


def _seed_counts(sentences: Sequence[str], seed_terms: Mapping[str, Sequence[str]]) -> np.ndarray:
    themes = list(seed_terms)
    compiled = {t: compile_seed_terms(seed_terms[t]) for t in themes}
    lemmas = [[lemma(tok) for tok in tokenize(s)] for s in sentences]
    return count_seed_terms(lemmas, seed_index(themes, compiled), len(themes))


def theme_excerpt(text: str, theme: str, seed_terms: Mapping[str, Sequence[str]]) -> tuple[str, int | None, int]:
    """(excerpt, other themes it carries, the theme's seed terms it holds): the sentences holding
    ``theme``'s seed terms, joined (" … " where sentences were left out between them);
    (the whole text, None, 0) when none does."""
    sentences = split_sentences(text)
    if not sentences or theme not in seed_terms:
        return text.strip(), None, 0
    counts = _seed_counts(sentences, seed_terms)
    matrix = (counts > 0).astype(int)
    col = list(seed_terms).index(theme)
    keep = np.flatnonzero(matrix[:, col])
    if not len(keep):
        return text.strip(), None, 0
    parts = [sentences[keep[0]]]
    for prev, cur in zip(keep, keep[1:]):
        parts.append((" " if cur == prev + 1 else OMISSION) + sentences[cur])
    others = matrix[keep].max(axis=0)
    others[col] = 0
    return "".join(parts), int(others.sum()), int(counts[keep, col].sum())


@lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    """The lower-cased words of ``text`` that are not stop words (placeholders dropped)."""
    stop = load_stopwords(domain=False)
    return frozenset(w for w in tokenize(text) if w not in stop)


def overlap(wa: frozenset[str], wb: frozenset[str]) -> float:
    """Overlap coefficient |A n B| / min(|A|, |B|) of two word sets (0 when either is empty)."""
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def quote_similarity(a: str, b: str) -> float:
    """The largest overlap coefficient of content words between the whole texts or any
    sentence of ``a`` and any sentence of ``b``."""
    best = overlap(content_words(a), content_words(b))
    for sa in split_sentences(a):
        for sb in split_sentences(b):
            best = max(best, overlap(content_words(sa), content_words(sb)))
    return best


def select_quotes(doc_themes: pd.DataFrame, texts: pd.DataFrame, n_quotes: int, min_words: int = 6,
                  max_words: int = 80, seed_terms: Mapping[str, Sequence[str]] | None = None,
                  max_similarity: float = MAX_SIMILARITY) -> pd.DataFrame:
    """Exemplar quotes: per theme up to ``n_quotes`` distinct excerpts of responses assigned it.

    ``doc_themes``: id, theme, score, assigned; ``texts``: id, text and optionally
    respondent (no person quoted twice for a theme), cohort and role (copied to the
    quote). With ``seed_terms`` ({theme: terms}, the codebook's) a quote is the response's
    sentences that hold the theme's seed terms (``seed_matched`` 1) or, for a response the
    model added without a seed term, the whole response (``seed_matched`` 0, ranked after).
    Without ``seed_terms`` every quote is the whole response. Redaction
    placeholders stay as they are; ``text_html`` is the HTML-escaped text. Columns:
    ``QUOTE_COLUMNS`` (cohort and role empty when ``texts`` lacks them).
    """
    info = texts.drop_duplicates("id").set_index("id")
    text_of = info["text"].fillna("").astype(str)
    person = info["respondent"].astype(str) if "respondent" in info.columns else pd.Series(info.index, info.index)
    chosen = doc_themes[pd.to_numeric(doc_themes["assigned"]) == 1]
    chosen = chosen[chosen["id"].isin(text_of.index)]
    candidates = []
    for theme, doc, score in zip(chosen["theme"], chosen["id"], pd.to_numeric(chosen["score"])):
        full = text_of[doc].strip()
        excerpt, others, n_terms = (full, None, 0) if seed_terms is None else theme_excerpt(full, theme, seed_terms)
        words = len(excerpt.split())
        if not min_words <= words <= max_words:
            continue
        matched = others is not None
        candidates.append({"theme": theme, "id": doc, "score": float(score), "seed_matched": int(matched),
                           "others": others if matched else 0, "n_terms": n_terms, "text": excerpt})
    frame = pd.DataFrame(candidates, columns=["theme", "id", "score", "seed_matched", "others", "n_terms", "text"])
    frame = frame.sort_values(["theme", "seed_matched", "others", "n_terms", "score", "id"],
                              ascending=[True, False, True, False, False, True], kind="stable")
    used: list[str] = []
    rows = []
    for theme, group in frame.groupby("theme", sort=True):
        rank, quoted = 0, set()
        for rec in group.to_dict("records"):
            who = person.get(rec["id"], rec["id"])
            if who in quoted or any(quote_similarity(rec["text"], other) >= max_similarity for other in used):
                continue
            used.append(rec["text"])
            quoted.add(who)
            rank += 1
            rows.append({"theme": theme, "rank": rank, "id": rec["id"], "score": rec["score"],
                         "seed_matched": rec["seed_matched"],
                         "cohort": str(info.at[rec["id"], "cohort"]) if "cohort" in info.columns else "",
                         "role": str(info.at[rec["id"], "role"]) if "role" in info.columns else "",
                         "text": rec["text"], "text_html": html.escape(rec["text"])})
            if rank >= n_quotes:
                break
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


def quote_roles(people: pd.DataFrame, min_cell: int) -> pd.Series:
    """Respondent -> the role a quote of theirs is attributed to (index respondent).

    ``people``: respondent, cohort and profession and/or role. The role where at least
    ``min_cell`` respondents of the cohort share it, else the profession where at least
    ``min_cell`` do, else ``ANONYMOUS_ROLE``.
    """
    people = people.drop_duplicates("respondent").set_index("respondent")
    label = pd.Series(ANONYMOUS_ROLE, index=people.index, dtype=object)
    for col in ("profession", "role"):  # the role, where shared enough, wins over the profession
        if col not in people.columns:
            continue
        value = people[col].fillna("").astype(str).str.strip()
        size = value.groupby([people["cohort"].astype(str), value]).transform("size")
        ok = (value != "") & (size >= min_cell)
        label = label.where(~ok, value)
    label.index.name = "respondent"
    return label
