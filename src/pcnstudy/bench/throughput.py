"""Throughput of the theme model against gensim's LdaModel, on the same corpus, in one run.

``compare_theme_model_with_gensim(processed_dir, root, repeats=3)`` reads
``texts.parquet`` (the non-blank answers) and the codebook, then, in this process,
``repeats`` times, the two side by side (the first of each pair alternating):

1. ``pcnstudy.themes.topics.GuidedThemeModel.fit`` on the raw texts: its own
   tokenising, stemming, lemmatising, seed matching, vectorising, the corpus
   expansion's cross-validated classifiers, thresholds and the free-topic search;
2. gensim from the same raw texts: the project's tokenising (``preprocess.prepare_corpus``,
   whose content terms are gensim's tokens), then ``Dictionary``, bag of words and
   ``gensim.models.LdaModel`` with one pass and as many topics as the fitted theme
   model has (themes plus free topics), configured as below.

Tokenising is charged to both: each side is timed from the raw texts. Before each
timed part the stem and lemma caches are emptied and garbage is collected, so neither
side inherits the other's work; the lemmatiser's tables are loaded once beforehand,
like the modules both import (a one-off cost of the process, charged to neither).

Gives a dict: ``tokenising`` (how it is charged), n_docs, n_topics, the median seconds
of each part (``theme_s``, ``tokenise_s``, ``gensim_s`` for dictionary, bag of words
and fit, ``gensim_with_tokenising_s``), docs/s of both (gensim with its tokenising),
``ratio`` (the median over the repeats of theme model docs/s over gensim docs/s; >= 1
means the theme model is at least as fast), ``ratio_min`` / ``ratio_max`` (the spread),
``ratio_cpu`` (the same from process CPU time, less moved by other jobs on the
machine), ``ratio_gensim_without_tokenising`` (gensim not charged its tokenising: the
figure reported before tokenising was charged to both) and ``runs`` (every repeat's
seconds) and ``theme_solver_threads`` (the threads the theme model's batched classifiers
use here: they run in two fixed blocks, so ``ratio`` counts the machine's second core
and ``ratio_cpu`` does not; gensim's LdaModel runs on one). ``gensim`` is a
benchmark-only dependency.
"""
from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from pcnstudy.core.params import load_params
from pcnstudy.themes.batched_logistic import BLOCKS, usable_cpus
from pcnstudy.themes.codebook import load_codebook
from pcnstudy.themes.preprocess import lemma, prepare_corpus, stem
from pcnstudy.themes.topics import GuidedThemeModel

GENSIM_CHUNKSIZE = 2000
REPEATS = 3
TOKENISING = "charged to both (each side timed from the raw texts)"


def load_texts(processed_dir: Path) -> list[str]:
    """The non-blank free-text answers in ``processed_dir/texts.parquet``, in file order."""
    frame = pd.read_parquet(Path(processed_dir) / "texts.parquet", columns=["text"])
    texts = frame["text"].dropna().astype(str)
    return [t for t in texts if t.strip()]


def fresh_state() -> None:
    """Empty the stem and lemma caches and collect garbage: each timed part starts alike."""
    stem.cache_clear()
    lemma.cache_clear()
    gc.collect()


def _timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of ``work()`` from a fresh state."""
    fresh_state()
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def fit_theme_model(texts: Sequence[str], seed_terms: dict[str, list[str]], seed: int = 7,
                    n_free_topics: int | str = "auto", max_free_topics: int = 4,
                    n_stability_seeds: int = 5) -> GuidedThemeModel:
    """The guided theme model fitted on the raw texts, as the themes stage fits it."""
    model = GuidedThemeModel(seed_terms=seed_terms, n_free_topics=n_free_topics,
                             max_free_topics=max_free_topics, n_stability_seeds=n_stability_seeds,
                             random_state=seed)
    return model.fit(list(texts))


def n_topics_of(model: GuidedThemeModel) -> int:
    """Themes plus free topics of a fitted theme model."""
    return len(model.themes_) + int(getattr(model, "n_free_topics_", 0) or 0)


def tokenise(texts: Sequence[str]) -> list[list[str]]:
    """The project's tokenising: content terms per document (``preprocess.prepare_corpus``)."""
    return prepare_corpus(list(texts)).terms


def fit_gensim_lda(tokens: Sequence[Sequence[str]], n_topics: int, seed: int = 7):
    """Dictionary, bag of words and a one-pass LdaModel fit on ``tokens``."""
    # gensim is optional (the bench extra): loaded only when the throughput scenario runs
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    dictionary = Dictionary(tokens)
    dictionary.filter_extremes(no_below=2, no_above=1.0, keep_n=None)
    bow = [dictionary.doc2bow(doc) for doc in tokens]
    return LdaModel(corpus=bow, id2word=dictionary, num_topics=n_topics, passes=1, chunksize=GENSIM_CHUNKSIZE,
                    random_state=seed, eval_every=None)


def summarise_runs(runs: Sequence[dict[str, float]], n_docs: int) -> dict[str, Any]:
    """Medians, docs/s and the ratio with its spread over the repeats (see the module docstring)."""
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    ratios = [(r["gensim_s"] + r["tokenise_s"]) / r["theme_s"] for r in runs]
    ratios_cpu = [(r["gensim_cpu_s"] + r["tokenise_cpu_s"]) / r["theme_cpu_s"] for r in runs]
    theme_s, token_s, gensim_s = med("theme_s"), med("tokenise_s"), med("gensim_s")
    gensim_all = statistics.median(r["gensim_s"] + r["tokenise_s"] for r in runs)
    return {
        "tokenising": TOKENISING,
        "n_docs": n_docs,
        "repeats": len(runs),
        "theme_s": round(theme_s, 3),
        "tokenise_s": round(token_s, 3),
        "gensim_s": round(gensim_s, 3),
        "gensim_with_tokenising_s": round(gensim_all, 3),
        "theme_docs_per_s": round(n_docs / theme_s, 1),
        "gensim_docs_per_s": round(n_docs / gensim_all, 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "ratio_cpu": round(statistics.median(ratios_cpu), 3),
        "ratio_gensim_without_tokenising": round(statistics.median(r["gensim_s"] / r["theme_s"] for r in runs), 3),
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
    }


def compare_theme_model_with_gensim(processed_dir: Path, root: Path, seed: int | None = None,
                                    repeats: int = REPEATS) -> dict[str, Any]:
    """Time both models on the same texts, side by side, ``repeats`` times; see the module docstring."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    root = Path(root)
    params = (load_params(root / "params.yaml").get("themes") or {})
    seed = int(params.get("seed", 7) if seed is None else seed)
    texts = load_texts(processed_dir)
    seed_terms = load_codebook(root / "config" / "codebook.yml").seed_terms()
    lemma("warm")  # loads the lemmatiser's tables, a one-off cost of the process
    options = dict(seed=seed, n_free_topics=params.get("free_topics", "auto"),
                   max_free_topics=int(params.get("max_free_topics", 4)),
                   n_stability_seeds=int(params.get("n_stability_seeds", 5)))
    n_topics = None
    runs = []
    for r in range(repeats):
        run: dict[str, float] = {}

        def theme_side() -> None:
            nonlocal n_topics
            wall, cpu, model = _timed(lambda: fit_theme_model(texts, seed_terms, **options))
            run.update(theme_s=wall, theme_cpu_s=cpu)
            n_topics = n_topics_of(model)

        def gensim_side() -> None:
            wall, cpu, tokens = _timed(lambda: tokenise(texts))
            run.update(tokenise_s=wall, tokenise_cpu_s=cpu)
            wall, cpu, _ = _timed(lambda: fit_gensim_lda(tokens, n_topics, seed=seed))
            run.update(gensim_s=wall, gensim_cpu_s=cpu)

        # gensim needs the theme model's number of topics: the theme model goes first in
        # the first pair, then the order alternates
        for side in ((theme_side, gensim_side) if r % 2 == 0 else (gensim_side, theme_side)):
            side()
        runs.append(run)
    return {**summarise_runs(runs, len(texts)), "n_topics": n_topics, "theme_solver_threads": solver_threads()}


def solver_threads() -> int:
    """Threads the theme model's batched classifiers run in on this machine (gensim's LdaModel: one)."""
    return min(BLOCKS, usable_cpus())
