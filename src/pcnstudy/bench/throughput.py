"""Throughput of the theme model against gensim's LdaModel, on the same corpus, in one run.

``compare_theme_model_with_gensim(processed_dir, root)`` reads ``texts.parquet`` (the
non-blank answers) and the codebook, then times, one after the other in this process:

1. ``pcnstudy.themes.topics.GuidedThemeModel.fit`` on the raw texts (its own tokenising,
   stemming, vectorising, thresholds and free-topic search included);
2. the same tokenising alone (``preprocess.prepare_corpus``), for reference;
3. ``gensim.models.LdaModel`` with one pass and the same number of topics as the
   fitted theme model (themes plus free topics), on those tokens: dictionary,
   bag-of-words and the fit timed; tokenising not charged to gensim.

Gives a dict: n_docs, n_topics, seconds and docs/s for each, and ``ratio`` (theme
model docs/s over gensim docs/s; >= 1 means the theme model is at least as fast).
Also ``ratio_gensim_with_tokenising``, charging gensim the tokenising as well.
``gensim`` is a benchmark-only dependency.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from pcnstudy.core.params import load_params
from pcnstudy.themes.codebook import load_codebook
from pcnstudy.themes.preprocess import prepare_corpus
from pcnstudy.themes.topics import GuidedThemeModel

GENSIM_CHUNKSIZE = 2000


def load_texts(processed_dir: Path) -> list[str]:
    """The non-blank free-text answers in ``processed_dir/texts.parquet``, in file order."""
    frame = pd.read_parquet(Path(processed_dir) / "texts.parquet", columns=["text"])
    texts = frame["text"].dropna().astype(str)
    return [t for t in texts if t.strip()]


def time_theme_model(texts: Sequence[str], seed_terms: dict[str, list[str]], seed: int = 7,
                     n_free_topics: int | str = "auto", max_free_topics: int = 4,
                     n_stability_seeds: int = 5) -> tuple[float, int]:
    """Fit the guided theme model; return (seconds, number of topics: themes + free)."""
    model = GuidedThemeModel(seed_terms=seed_terms, n_free_topics=n_free_topics,
                             max_free_topics=max_free_topics, n_stability_seeds=n_stability_seeds,
                             random_state=seed)
    start = time.perf_counter()
    model.fit(list(texts))
    seconds = time.perf_counter() - start
    return seconds, len(model.themes_) + int(getattr(model, "n_free_topics_", 0) or 0)


def time_tokenising(texts: Sequence[str]) -> tuple[float, list[list[str]]]:
    """Tokenise with the project's preprocessing; return (seconds, content terms per doc)."""
    start = time.perf_counter()
    corpus = prepare_corpus(list(texts))
    return time.perf_counter() - start, corpus.terms


def time_gensim_lda(tokens: Sequence[Sequence[str]], n_topics: int, seed: int = 7) -> float:
    """Dictionary, bag of words and a one-pass LdaModel fit; return seconds."""
    # gensim is optional (the bench extra): loaded only when the throughput scenario runs
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    start = time.perf_counter()
    dictionary = Dictionary(tokens)
    dictionary.filter_extremes(no_below=2, no_above=1.0, keep_n=None)
    bow = [dictionary.doc2bow(doc) for doc in tokens]
    LdaModel(corpus=bow, id2word=dictionary, num_topics=n_topics, passes=1, chunksize=GENSIM_CHUNKSIZE,
             random_state=seed, eval_every=None)
    return time.perf_counter() - start


def compare_theme_model_with_gensim(processed_dir: Path, root: Path, seed: int | None = None) -> dict[str, Any]:
    """Time both models on the same texts; see the module docstring for the result's keys."""
    root = Path(root)
    params = (load_params(root / "params.yaml").get("themes") or {})
    seed = int(params.get("seed", 7) if seed is None else seed)
    texts = load_texts(processed_dir)
    seed_terms = load_codebook(root / "config" / "codebook.yml").seed_terms()
    theme_s, n_topics = time_theme_model(texts, seed_terms, seed=seed,
                                         n_free_topics=params.get("free_topics", "auto"),
                                         max_free_topics=int(params.get("max_free_topics", 4)),
                                         n_stability_seeds=int(params.get("n_stability_seeds", 5)))
    token_s, tokens = time_tokenising(texts)
    gensim_s = time_gensim_lda(tokens, n_topics, seed=seed)
    n = len(texts)
    theme_rate, gensim_rate = n / theme_s, n / gensim_s
    return {
        "n_docs": n,
        "n_topics": n_topics,
        "theme_s": round(theme_s, 3),
        "tokenise_s": round(token_s, 3),
        "gensim_s": round(gensim_s, 3),
        "theme_docs_per_s": round(theme_rate, 1),
        "gensim_docs_per_s": round(gensim_rate, 1),
        "ratio": round(theme_rate / gensim_rate, 3),
        "ratio_gensim_with_tokenising": round(theme_rate / (n / (gensim_s + token_s)), 3),
    }
