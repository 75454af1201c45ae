"""VADER sentiment: packaged lexicon, checks against vaderSentiment and hand-worked values."""
from __future__ import annotations

import json
import math
from pathlib import Path

import nltk
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as ReferenceAnalyzer

from pcnstudy.themes import sentiment

REF = json.loads((Path(__file__).parent / "results" / "sentiment.json").read_text())

# Sentences without 'but' and without emoji, where vaderSentiment's own code is a
# faithful independent implementation of the compound score (see
# tests/results/sentiment.json). The two tokenisers differ on one-letter words ("I",
# "a"): nltk drops them, so neg/neu/pos (shares of the words) are compared only on
# sentences without such words.
SENTENCES = [
    "The programme was really helpful and I feel much more confident.",
    "I did not enjoy the sessions.",
    "Too much paperwork, the targets are awful and it is exhausting!",
    "Protected time to think was GREAT!!!",
    "Nothing.",
    "The facilitators were not bad at all",
    "I hate the bureaucracy :(",
    "Very good sessions, kind of useful",
    "[NAME] was brilliant, never boring",
]


def test_lexicon_is_copied_into_nltk_data(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))
    folder = sentiment.install_lexicon(tmp_path / "nltk_data")
    copied = folder / sentiment.LEXICON_RESOURCE
    assert copied.read_bytes() == sentiment.packaged_lexicon().read_bytes()
    assert nltk.data.path[0] == str(folder)


def test_matches_vadersentiment_reference():
    ours = sentiment.sentiment_scores(pd.Series(SENTENCES, index=range(10, 10 + len(SENTENCES))))
    assert list(ours.columns) == sentiment.SCORE_COLUMNS
    assert list(ours.index) == list(range(10, 10 + len(SENTENCES)))
    reference = ReferenceAnalyzer()
    for text, (_, row) in zip(SENTENCES, ours.iterrows()):
        expected = reference.polarity_scores(text)
        one_letter = any(len(word.strip(".,!?:(")) == 1 for word in text.split())
        for col in ["compound"] if one_letter else sentiment.SCORE_COLUMNS:
            assert row[col] == pytest.approx(expected[col], abs=REF["tolerance_implementation"]), (text, col)


@pytest.mark.parametrize("case", REF["hand"])
def test_hand_worked_values(case):
    score = sentiment.sentiment_scores(pd.Series([case["text"]]))["compound"].iloc[0]
    assert score == pytest.approx(case["compound"], abs=REF["tolerance_rounding"])


def test_missing_text_is_nan():
    scores = sentiment.sentiment_scores(pd.Series(["good", None, np.nan]))
    assert scores["compound"].iloc[0] > 0
    assert scores.iloc[1:].isna().all().all()


def test_sentiment_by_theme():
    texts = pd.DataFrame({
        "id": ["a", "b", "c", "d"],
        "cohort": ["se_cohort1", "se_cohort1", "se_cohort2", "se_cohort2"],
        "compound": [0.8, -0.6, 0.0, 0.4],
    })
    doc_themes = pd.DataFrame({
        "id": ["a", "b", "c", "d", "a"],
        "theme": ["time", "time", "time", "trust", "trust"],
        "assigned": [1, 1, 1, 1, 0],
    })
    table = sentiment.sentiment_by_theme(doc_themes, texts)
    assert list(table.columns) == sentiment.THEME_COLUMNS
    time = table.set_index("theme").loc["time"]
    values = np.array([0.8, -0.6, 0.0])
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
    assert time["n"] == 3
    assert time["mean_compound"] == pytest.approx(values.mean())
    assert (time["ci_low"], time["ci_high"]) == pytest.approx((values.mean() - half, values.mean() + half))
    assert (time["prop_positive"], time["prop_neutral"], time["prop_negative"]) == pytest.approx((1 / 3,) * 3)
    trust = table.set_index("theme").loc["trust"]
    assert trust["n"] == 1 and math.isnan(trust["ci_low"])
    grouped = sentiment.sentiment_by_theme(doc_themes, texts, by=["cohort"])
    assert grouped[["cohort", "theme", "n"]].values.tolist() == [
        ["se_cohort1", "time", 2], ["se_cohort2", "time", 1], ["se_cohort2", "trust", 1]]


def test_sentiment_by_theme_scores_text_when_no_compound_given():
    texts = pd.DataFrame({"id": [1, 2], "text": ["great help", "awful"]})
    doc_themes = pd.DataFrame({"id": ["1", "2"], "theme": ["x", "x"]})
    table = sentiment.sentiment_by_theme(doc_themes, texts)
    assert table["prop_positive"].iloc[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="texts: missing column"):
        sentiment.sentiment_by_theme(doc_themes, texts.drop(columns="text"))


def test_repeated_texts_are_scored_once_with_identical_results():
    texts = pd.Series(["Great session!", None, "Great session!", "I hate the bureaucracy :(", np.nan],
                      index=[10, 11, 12, 13, 14])
    scores = sentiment.sentiment_scores(texts)
    assert list(scores.index) == [10, 11, 12, 13, 14] and list(scores.columns) == sentiment.SCORE_COLUMNS
    assert scores.loc[10].equals(scores.loc[12]) and scores.loc[[11, 14]].isna().all().all()
    one = sentiment.analyzer().polarity_scores("I hate the bureaucracy :(")
    assert scores.loc[13, "compound"] == pytest.approx(one["compound"])
    assert sentiment.sentiment_scores(pd.Series([], dtype=object)).shape == (0, 4)
