"""Sentiment of free-text responses with VADER, and its summary per theme.

Uses nltk's ``SentimentIntensityAnalyzer`` (Hutto & Gilbert 2014) with the
``vader_lexicon.txt`` that the ``vaderSentiment`` PyPI package ships: nltk's own
copy comes from ``nltk.download()``, which cannot run offline, and nltk refuses to
read data files outside the folders on ``nltk.data.path``. So the lexicon is copied
(once, checked by content hash) into a project nltk_data folder, ``PCNSTUDY_NLTK_DATA``
or ``<tmp>/pcnstudy_nltk_data``, which is put on ``nltk.data.path``.

Gives
- ``analyzer()``: the (cached) nltk analyser using that lexicon;
- ``sentiment_scores(texts)``: a table aligned with the input Series, columns
  ``neg, neu, pos, compound`` (missing text gives NaN);
- ``sentiment_by_theme(doc_themes, texts, by=None, alpha=0.05)``: per theme (and per
  ``by`` group, e.g. cohort), ``n``, ``mean_compound`` with a t-based ``ci_low`` and
  ``ci_high``, ``sd_compound``, and the shares ``prop_positive`` (compound >= 0.05),
  ``prop_neutral`` and ``prop_negative`` (compound <= -0.05), the thresholds of the
  VADER authors. Counts are not suppressed here: disclosure control is applied by the
  caller to the table as a whole.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import nltk
import numpy as np
import pandas as pd
from nltk.sentiment.vader import SentimentIntensityAnalyzer
from scipy import stats
from pcnstudy.core.progress import progress

from pcnstudy.core.paths import packaged_file

POSITIVE = 0.05
NEGATIVE = -0.05
LEXICON_RESOURCE = "pcnstudy/vader_lexicon.txt"
SCORE_COLUMNS = ["neg", "neu", "pos", "compound"]
THEME_COLUMNS = [
    "theme", "n", "mean_compound", "ci_low", "ci_high", "sd_compound",
    "prop_positive", "prop_neutral", "prop_negative",
]


def packaged_lexicon() -> Path:
    """Return the path of vader_lexicon.txt inside the installed vaderSentiment package."""
    return packaged_file("vaderSentiment", "vader_lexicon.txt")


def nltk_data_dir() -> Path:
    """Return the project's nltk_data folder (``PCNSTUDY_NLTK_DATA`` or a temp folder)."""
    env = os.environ.get("PCNSTUDY_NLTK_DATA")
    return Path(env) if env else Path(tempfile.gettempdir()) / "pcnstudy_nltk_data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_lexicon(folder: Path | None = None) -> Path:
    """Copy the packaged lexicon into ``folder`` (default ``nltk_data_dir()``) if needed.

    Returns the nltk_data folder, which is also put first on ``nltk.data.path``.
    """
    folder = Path(folder) if folder else nltk_data_dir()
    source = packaged_lexicon()
    target = folder / LEXICON_RESOURCE
    if not target.is_file() or _digest(target) != _digest(source):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    if str(folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(folder))
    return folder


@functools.lru_cache(maxsize=1)
def analyzer():
    """Return nltk's SentimentIntensityAnalyzer reading the packaged VADER lexicon."""
    install_lexicon()
    return SentimentIntensityAnalyzer(lexicon_file=LEXICON_RESOURCE)


def sentiment_scores(texts: pd.Series) -> pd.DataFrame:
    """Return VADER scores (neg, neu, pos, compound) for each text, aligned with ``texts``.

    VADER is pure Python (about 0.3 ms a text), so each distinct text is scored once
    and the scores are shared by its repeats (stock answers recur across respondents).
    """
    sia = analyzer()
    values = list(texts)
    missing = [v is None or (not isinstance(v, str) and pd.isna(v)) for v in values]
    distinct = sorted({str(v) for v, gone in zip(values, missing) if not gone})
    scored = {}
    for text in progress(distinct, desc="sentiment", leave=False):
        scores = sia.polarity_scores(text)
        scored[text] = [float(scores[col]) for col in SCORE_COLUMNS]
    blank = [np.nan] * len(SCORE_COLUMNS)
    rows = [blank if gone else scored[str(v)] for v, gone in zip(values, missing)]
    return pd.DataFrame(rows, index=texts.index, columns=SCORE_COLUMNS, dtype=float)


def _summary(compound: pd.Series, alpha: float) -> dict[str, float]:
    values = compound.dropna().to_numpy(dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else np.nan
    sd = float(values.std(ddof=1)) if n > 1 else np.nan
    if n > 1:
        half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / np.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = np.nan
    return {
        "n": n,
        "mean_compound": mean,
        "ci_low": low,
        "ci_high": high,
        "sd_compound": sd,
        "prop_positive": float(np.mean(values >= POSITIVE)) if n else np.nan,
        "prop_neutral": float(np.mean((values > NEGATIVE) & (values < POSITIVE))) if n else np.nan,
        "prop_negative": float(np.mean(values <= NEGATIVE)) if n else np.nan,
    }


def sentiment_by_theme(
    doc_themes: pd.DataFrame,
    texts: pd.DataFrame,
    by: list[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Summarise sentiment of the responses carrying each theme.

    ``doc_themes``: long (id, theme) table of codes; with an ``assigned`` column only
    rows with assigned == 1 count. ``texts``: columns ``id`` and ``text`` (or an already
    computed ``compound`` column), plus any ``by`` columns. Returns ``by + THEME_COLUMNS``
    sorted by ``by`` then theme; a theme with no scored response is left out.
    """
    by = list(by or [])
    for name, table, needed in (("doc_themes", doc_themes, ["id", "theme"]), ("texts", texts, ["id"] + by)):
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    if "compound" not in texts.columns and "text" not in texts.columns:
        raise ValueError("texts: missing column(s) text (or compound)")
    codes = doc_themes
    if "assigned" in codes.columns:
        codes = codes[pd.to_numeric(codes["assigned"], errors="coerce").fillna(0) > 0]
    codes = codes[["id", "theme"]].astype(str).drop_duplicates()
    scored = texts[["id"] + by].copy()
    scored["id"] = scored["id"].astype(str)
    scored["compound"] = (
        texts["compound"].to_numpy() if "compound" in texts.columns else sentiment_scores(texts["text"])["compound"].to_numpy()
    )
    merged = codes.merge(scored, on="id", how="inner", validate="many_to_one")
    rows = []
    for keys, group in merged.groupby(by + ["theme"], sort=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = dict(zip(by + ["theme"], keys))
        summary = _summary(group["compound"], alpha)
        if summary["n"] == 0:
            continue
        row.update(summary)
        rows.append(row)
    return pd.DataFrame(rows, columns=by + THEME_COLUMNS)
