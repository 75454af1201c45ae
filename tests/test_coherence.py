"""The free topics' NPMI beside gensim LDA's on the same corpus (pcnstudy.bench.coherence)."""
from __future__ import annotations

import numpy as np
import pytest

from pcnstudy.bench.coherence import free_topics_beside_lda
from themes_corpus import make_corpus

pytest.importorskip("gensim")

SEEDS = {"trust": ["trust", "relationship", "get to know"],
         "time": ["protected time", "space to think", "reflect"],
         "mdt": ["pharmacist", "paramedic", "social prescriber"]}


def test_free_topics_and_lda_scored_on_the_same_corpus():
    texts, _ = make_corpus(160, seed=5)
    out = free_topics_beside_lda(texts["text"].tolist(), SEEDS, seed=0, max_free_topics=3, n_stability_seeds=3,
                                 n_top=5, lda_passes=2)
    assert out["n_docs"] == 160 and out["n_free_topics"] >= 1
    assert len(out["lda_topics"]) == max(1, out["n_free_topics"]) and len(out["lda_npmi"]) == len(out["lda_topics"])
    assert -1 <= out["free_npmi_mean"] <= 1 and -1 <= out["lda_npmi_mean"] <= 1
    # the planted theme the codebook lacks is one of the free topics
    assert any({"parking", "hub"} & set(terms) for terms in out["free_topics"].values())
    assert np.isfinite(out["lda_npmi_mean"])
