"""Text preprocessing for the thematic analysis, with nltk features that need no download.

Takes raw (already redacted) free-text answers and gives token streams:

- ``tokenize(text)``: lower-cased word tokens (runs of letters with inner apostrophes,
  the pattern matched with the standard library's ``re``: the tokens nltk's
  ``RegexpTokenizer`` gives for it, without its ``regex``-engine timeout guard); the
  redaction placeholders ingest leaves in the text (``[NAME]``, ``[EMAIL]`` ...) are
  removed first, so they never become terms.
- ``stem(token)``: nltk's English Snowball stem (cached), for the topic vocabulary;
  ``lemma(token)``: simplemma's English lemma, for matching seed terms.
- ``load_stopwords()``: the curated list kept in ``pcnstudy/data/stopwords_en.txt``
  plus the domain list ``stopwords_domain.txt`` (words such as "pcn", "practice").
  Packaged lists drop words such as "work", "together" and "system" that matter in
  this study; ours keeps them.
- ``find_collocations(docs)``: multi-word terms (bigrams of content stems) found with
  nltk's ``BigramCollocationFinder``: ranked by likelihood ratio, kept when their PMI
  is positive and they occur at least ``min_count`` times.
- ``compile_seed_terms(terms)`` / ``match_seed_terms(stems, compiled)``: codebook seed
  terms ("trust", "get to know", "protected time") after the same lemmatising, matched
  as contiguous lemma sequences in the full token stream (stop words kept, so phrases
  such as "what we are for" still match).
- ``prepare_corpus(texts, ...)`` -> ``Corpus``: per document the full stem stream and
  the content terms (stop words dropped, collocations and multi-word seed terms joined
  with ``_``), and a map from each term back to its commonest surface form for display.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib import resources
from itertools import chain
from operator import is_not
from typing import Iterable, Sequence

import numpy as np
import simplemma
from nltk.collocations import BigramCollocationFinder
from nltk.metrics import BigramAssocMeasures
from nltk.probability import FreqDist
from nltk.stem.snowball import SnowballStemmer

PLACEHOLDER_RE = re.compile(r"\[[A-Z][A-Z_ ]*\]")
# a token begins and ends with a letter, so it has no outer apostrophe to strip; a
# fixed, linear-time pattern needs no timeout guard (nltk's RegexpTokenizer runs the
# same findall in the ``regex`` engine under one)
TOKEN_PATTERN = r"[a-z]+(?:'[a-z]+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_STEMMER = SnowballStemmer("english")
JOINER = "_"


def strip_placeholders(text: str) -> str:
    """Remove redaction placeholders such as ``[NAME]`` or ``[NHS_NUMBER]`` from a text."""
    return PLACEHOLDER_RE.sub(" ", text) if "[" in text else text


def tokenize(text: str | None) -> list[str]:
    """Return lower-cased word tokens of ``text`` (placeholders, digits and punctuation dropped)."""
    if text is None or not isinstance(text, str):
        return []
    clean = strip_placeholders(text).replace("\u2019", "'").lower()
    return _TOKEN_RE.findall(clean)


@lru_cache(maxsize=200_000)
def lemma(token: str) -> str:
    """Return the English lemma of one lower-case token (simplemma's shipped tables).

    Suppletive and vowel-changing forms, whose lemma does not begin with the word's
    first two letters ("better" -> "good", "worse" -> "wrong", "went" -> "go",
    "told" -> "tell"), are kept as written: a comparative changes what a seed term
    means ("feel better" is about improvement, not about something being good), so
    only regular inflections ("appointments", "waited") join their lemma.
    """
    base = simplemma.lemmatize(token, lang="en").lower()
    return base if base[:2] == token[:2] else token


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Return the Snowball (English) stem of one lower-case token."""
    return _STEMMER.stem(token)


def _read_word_list(name: str) -> set[str]:
    text = resources.files("pcnstudy.themes.data").joinpath(name).read_text(encoding="utf-8")
    return {line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")}


@lru_cache(maxsize=4)
def _stopwords(domain: bool) -> frozenset[str]:
    words = _read_word_list("stopwords_en.txt")
    if domain:
        words |= _read_word_list("stopwords_domain.txt")
    return frozenset(words)


def load_stopwords(domain: bool = True, extra: Iterable[str] = ()) -> frozenset[str]:
    """Return the curated stop words (plus the domain list, plus ``extra``), lower case."""
    words = set(_stopwords(domain))
    words.update(w.lower() for w in extra)
    return frozenset(words)


def compile_seed_terms(terms: Iterable[str]) -> list[tuple[str, ...]]:
    """Turn seed terms into lemma tuples: "protected time" -> ("protect", "time").

    Seeds match on lemmas, not stems: a lemma joins inflections ("appointments",
    "waited") without the derivational over-reach of stemming ("helpful" and "help"
    share the Snowball stem "help").
    """
    compiled = []
    for term in terms:
        stems = tuple(lemma(tok) for tok in tokenize(str(term)))
        if stems and stems not in compiled:
            compiled.append(stems)
    return compiled


def match_seed_terms(stems: Sequence[str], compiled: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Return the compiled seed terms that occur in a document's lemma stream (each once)."""
    found = []
    present = set(stems)
    for term in compiled:
        if len(term) == 1:
            if term[0] in present:
                found.append(term)
            continue
        if not set(term) <= present:
            continue
        n = len(term)
        for i in range(len(stems) - n + 1):
            if tuple(stems[i:i + n]) == term:
                found.append(term)
                break
    return found


def find_collocations(docs: Sequence[Sequence[str]], min_count: int = 3, top_n: int = 200) -> list[tuple[str, str]]:
    """Return up to ``top_n`` bigram collocations of content stems, best first.

    Bigrams are counted within documents (never across two answers), ranked by
    Dunning's likelihood ratio and kept when they occur ``min_count`` times or more
    and their pointwise mutual information is positive.
    """
    # the counts nltk's ``from_documents`` makes, with each distinct document counted once
    # and weighted by how often it occurs
    distinct = Counter(tuple(d) for d in docs)
    return _collocations_from_counts(*_weighted_counts(list(distinct), list(distinct.values())),
                                     min_count=min_count, top_n=top_n)


def _weighted_counts(docs: Sequence[Sequence[str]], times: Sequence[int]) -> tuple[Counter, Counter]:
    """Word and within-document bigram counts of ``docs``, each document counted ``times`` times."""
    word_fd: Counter = Counter()
    bigram_fd: Counter = Counter()
    for doc, k in zip(docs, times):
        if k == 1:  # Counter.update counts in C, adding new keys in the same order as the loop
            word_fd.update(doc)
            bigram_fd.update(zip(doc, doc[1:]))
            continue
        for w in doc:
            word_fd[w] += k
        for pair in zip(doc, doc[1:]):
            bigram_fd[pair] += k
    return word_fd, bigram_fd


def _collocations_from_counts(word_fd: Counter, bigram_fd: Counter, min_count: int = 3,
                              top_n: int = 200) -> list[tuple[str, str]]:
    """``find_collocations`` from word and bigram counts."""
    finder = BigramCollocationFinder(FreqDist(word_fd), FreqDist(bigram_fd), window_size=2)
    finder.apply_freq_filter(min_count)
    measures = BigramAssocMeasures()
    pmi = dict(finder.score_ngrams(measures.pmi))
    ranked = finder.score_ngrams(measures.likelihood_ratio)
    ranked = sorted(ranked, key=lambda item: (-item[1], item[0]))
    return [bigram for bigram, _ in ranked if pmi.get(bigram, 0.0) > 0][:top_n]


def _join_bigrams(terms: list[str], bigrams: set[tuple[str, str]], firsts: set[str] | None = None) -> list[str]:
    """Return the unigrams followed by every adjacent pair that is a known multi-word term
    (``firsts``, the first words of ``bigrams``, lets a document without any skip the pairs)."""
    if len(terms) < 2 or (firsts is not None and firsts.isdisjoint(terms)):
        return list(terms)
    joined = [a + JOINER + b for a, b in zip(terms, terms[1:]) if (a, b) in bigrams]
    return list(terms) + joined


@dataclass
class Corpus:
    """Preprocessed documents.

    ``stems``: full stem stream per document (stop words kept).
    ``lemmas``: full lemma stream per document (stop words kept; for seed matching).
    ``terms``: content terms per document (stop words dropped; collocations and
    multi-word seed terms joined with ``_``; for the topic model's vocabulary).
    ``surface``: term -> commonest surface form ("protect_time" -> "protected time").
    ``collocations``: the bigram collocations found on this corpus.
    """

    stems: list[list[str]]
    terms: list[list[str]]
    lemmas: list[list[str]] = field(default_factory=list)
    surface: dict[str, str] = field(default_factory=dict)
    collocations: list[tuple[str, str]] = field(default_factory=list)


def prepare_corpus(
    texts: Sequence[str],
    seed_phrases: Iterable[tuple[str, ...]] = (),
    stopwords: frozenset[str] | None = None,
    collocations: bool | Sequence[tuple[str, str]] = True,
    min_count: int = 3,
) -> Corpus:
    """Tokenise, stem and phrase-join ``texts``; see ``Corpus``.

    ``collocations`` is True (find them on this corpus), False, or a given list (reuse
    the ones found when a model was fitted). Multi-word seed phrases whose words are
    all content words are joined like collocations.
    """
    stopwords = load_stopwords() if stopwords is None else stopwords
    stop_stems = {stem(w) for w in stopwords} | set(stopwords)
    # each distinct text is tokenised, stemmed and lemmatised once (stock answers recur);
    # a repeated text shares its lists with its first occurrence
    texts = list(texts)
    position: dict = {}
    inverse = [position.setdefault(t if isinstance(t, str) else repr(t), len(position)) for t in texts]
    distinct = [None] * len(position)
    for t, k in zip(texts, inverse):
        if distinct[k] is None:
            distinct[k] = t
    multiplicity = Counter(inverse)
    times_u = [multiplicity[k] for k in range(len(distinct))]
    tokens_u = [tokenize(t) for t in distinct]
    # each word type is stemmed, lemmatised and checked against the stop words once,
    # in order of first appearance; documents are then mapped type by type
    types = list(dict.fromkeys(chain.from_iterable(tokens_u)))
    stem_of = {t: stem(t) for t in types}
    content_of = {t: st for t, st in stem_of.items() if t not in stopwords and st not in stop_stems and len(t) > 1}
    stems_u = [list(map(stem_of.__getitem__, doc)) for doc in tokens_u]
    is_content = partial(is_not, None)
    content_u = [list(filter(is_content, map(content_of.get, doc))) for doc in tokens_u]
    stems = [stems_u[k] for k in inverse]
    content = [content_u[k] for k in inverse]
    if collocations is True:
        found = _collocations_from_counts(*_weighted_counts(content_u, times_u), min_count=min_count)
    elif collocations is False:
        found = []
    else:
        found = [tuple(b) for b in collocations]
    pairs = set(found)
    for phrase in seed_phrases:
        words = [stem(w) for w in phrase if w not in stopwords and stem(w) not in stop_stems]
        for a, b in zip(words, words[1:]):
            pairs.add((a, b))
    firsts = {a for a, _ in pairs}
    terms_u = [_join_bigrams(doc, pairs, firsts) for doc in content_u]
    terms = [terms_u[k] for k in inverse]
    # each stem's commonest surface form, copies counted (ties: the first in sort order)
    type_id = {t: i for i, t in enumerate(types)}
    ids = np.fromiter(map(type_id.__getitem__, chain.from_iterable(tokens_u)), dtype=np.int64)
    weights = np.repeat(np.asarray(times_u, dtype=np.int64), [len(doc) for doc in tokens_u])
    type_count = np.bincount(ids, weights=weights, minlength=len(types)).astype(np.int64) if len(types) else []
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for t, c in zip(types, type_count):
        counts[stem_of[t]][t] = int(c)
    surface = {st: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for st, c in counts.items()}
    for a, b in pairs:
        surface[a + JOINER + b] = f"{surface.get(a, a)} {surface.get(b, b)}"
    lemma_of = {t: lemma(t) for t in types}
    lemmas_u = [list(map(lemma_of.__getitem__, doc)) for doc in tokens_u]
    lemmas = [lemmas_u[k] for k in inverse]
    return Corpus(stems=stems, terms=terms, lemmas=lemmas, surface=surface, collocations=sorted(found))
