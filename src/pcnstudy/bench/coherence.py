"""Coherence of the theme model's free topics beside gensim's LDA, on the same corpus.

``free_topics_beside_lda(texts, seed_terms, seed, max_free_topics, n_stability_seeds,
n_top, lda_passes)`` fits ``GuidedThemeModel`` with ``n_free_topics="auto"`` and gensim's
``LdaModel`` with the same number of topics (at least one) on the model's own content
terms of the same texts (the same tokenising, stop words, stems and phrases; the
dictionary keeps the terms of at least two texts, as the model's vocabulary does), and
scores both sets of topics' top ``n_top`` terms with the same NPMI
(``themes.metrics.npmi_coherence``, by document co-occurrence over the whole corpus).
Returns n_docs, n_free_topics, the free topics' terms and mean NPMI, and LDA's.

The two answer different questions: LDA's topics cover the whole corpus, the free
topics only the terms no codebook theme explains (what the codebook lacks), so this
is a check that the free topics are as coherent as a standard topic model's, not a
race. ``gensim`` is a benchmark-only dependency.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pcnstudy.themes.metrics import npmi_coherence
from pcnstudy.themes.topics import GuidedThemeModel


def lda_top_terms(tokens: Sequence[Sequence[str]], n_topics: int, n_top: int, seed: int,
                  passes: int) -> list[list[str]]:
    """gensim LdaModel's topics on ``tokens`` (terms of >= 2 texts): each topic's ``n_top`` terms."""
    # gensim is optional (the bench extra): loaded only when this benchmark runs
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    dictionary = Dictionary(tokens)
    dictionary.filter_extremes(no_below=2, no_above=1.0, keep_n=None)
    bow = [dictionary.doc2bow(doc) for doc in tokens]
    lda = LdaModel(corpus=bow, id2word=dictionary, num_topics=n_topics, passes=passes, random_state=seed,
                   eval_every=None)
    return [[dictionary[i] for i, _ in lda.get_topic_terms(k, topn=n_top)] for k in range(n_topics)]


def free_topics_beside_lda(texts: Sequence[str], seed_terms: dict[str, list[str]], seed: int = 7,
                           max_free_topics: int = 4, n_stability_seeds: int = 5, n_top: int = 10,
                           lda_passes: int = 10) -> dict[str, Any]:
    """Free topics' and LDA's mean NPMI on the same texts; see the module docstring."""
    texts = list(texts)
    model = GuidedThemeModel(seed_terms=seed_terms, n_free_topics="auto", max_free_topics=max_free_topics,
                             n_stability_seeds=n_stability_seeds, n_top_terms=n_top, random_state=seed).fit(texts)
    Xt, _ = model._features(texts)
    vocabulary = model.vectorizer_.vocabulary_
    k = max(1, int(model.n_free_topics_))
    tokens = model._corpus(texts, fit=False).terms
    lda_terms = lda_top_terms(tokens, k, n_top, seed, lda_passes)
    lda_npmi = [npmi_coherence([vocabulary[t] for t in topic if t in vocabulary], Xt) for topic in lda_terms]
    free = model.free_topic_npmi_
    terms = model.free_topic_terms_
    return {
        "n_docs": len(texts),
        "n_free_topics": int(model.n_free_topics_),
        "free_topics": {topic: grp.sort_values("rank")["term"].tolist() for topic, grp in terms.groupby("topic")},
        "free_npmi": {t: float(v) for t, v in free.items()},
        "free_npmi_mean": float(np.nanmean(list(free.values()))) if free else float("nan"),
        "lda_topics": [[model.surface_.get(t, t) for t in topic] for topic in lda_terms],
        "lda_npmi": [float(v) for v in lda_npmi],
        "lda_npmi_mean": float(np.nanmean(lda_npmi)),
        "lda_passes": int(lda_passes),
        "n_top": int(n_top),
    }
