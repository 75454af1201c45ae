"""The long ratings table every scores analysis works on, and the names they share.

Takes a long table of ratings (``respondent, wave, item, score``; optionally
``cohort, domain, pcn``) as a file (``read_long``) or a frame, checks and tidies it
(``validate_long``: InputError naming file, row and column), puts waves in time order
(``order_waves``) and adds domain scores (``add_domain_scores``: the mean of each
respondent's answered items of a domain in a wave, ``level == "domain"``). Gives the
labels shared by the change, mixed, ordinal and attrition modules (``POOLED``,
``NO_COHORT``) and ``write_csv``, the one CSV writer of the stage.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pcnstudy.core.textfile import TableError, read_table

REQUIRED_COLUMNS = ["respondent", "wave", "item", "score"]
OPTIONAL_COLUMNS = ["cohort", "domain", "pcn"]
KNOWN_WAVE_ORDER = ["baseline", "pre", "then", "mid", "post", "end", "follow_up", "followup"]
NO_COHORT = "all"
POOLED = "pooled"


class InputError(ValueError):
    """Bad input to a scores computation; the message is one line naming file, row and column."""


def read_long(path: Path) -> pd.DataFrame:
    """Read a long CSV or parquet table of ratings (no validation); InputError if unreadable.

    A CSV is read as its tool wrote it (``textfile.read_table``): any common encoding
    and delimiter, header names matched ignoring case and surrounding spaces; empty
    cells are missing values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}:0:: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        frame = read_table(path, [], optional=REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        return frame.mask(frame == "")
    except TableError as exc:
        raise InputError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is bad input
        raise InputError(f"{path}:0:: cannot read the table ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def order_waves(observed, waves: list[str] | None = None) -> list[str]:
    """Time order of the waves: ``waves`` when given, else known names first, then as seen."""
    seen = list(dict.fromkeys(str(w) for w in pd.unique(pd.Series(observed, dtype=object))))
    if waves:
        return [w for w in waves if w in seen]
    known = [w for w in KNOWN_WAVE_ORDER if w in seen]
    return known + [w for w in seen if w not in known]


def validate_long(frame: pd.DataFrame, waves: list[str] | None = None, source: str = "ratings") -> pd.DataFrame:
    """Check and tidy a long ratings table; raise InputError naming file, row and column.

    Rows count as a spreadsheet user counts them (header = row 1). Returns a copy with
    ``score`` as float, ``cohort`` filled with ``all`` when absent, and string ids.
    Missing scores are dropped; a repeated respondent x wave x item is an error.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{source}:1:{missing[0]}: missing column {missing[0]!r} (need {', '.join(REQUIRED_COLUMNS)})")
    out = frame.copy()
    out.index = pd.RangeIndex(len(out))
    raw = out["score"]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{source}:{i + 2}:score: not a number (value {str(raw.iloc[i])!r})")
    if np.isinf(numeric.to_numpy(dtype=float)).any():
        i = int(np.flatnonzero(np.isinf(numeric.to_numpy(dtype=float)))[0])
        raise InputError(f"{source}:{i + 2}:score: not a finite number (value {str(raw.iloc[i])!r})")
    out["score"] = numeric.astype(float)
    for col in ("respondent", "wave", "item"):
        empty = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise InputError(f"{source}:{i + 2}:{col}: empty value")
        out[col] = out[col].astype(str).str.strip()
    if waves:
        unknown = ~out["wave"].isin(waves)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise InputError(f"{source}:{i + 2}:wave: wave {out['wave'].iloc[i]!r} is not in --waves ({','.join(waves)})")
    if "cohort" not in out.columns:
        out["cohort"] = NO_COHORT
    out["cohort"] = out["cohort"].fillna(NO_COHORT).astype(str)
    for col in ("domain", "pcn"):
        if col in out.columns:
            out[col] = out[col].astype("string").fillna("").astype(str)
    out = out[out["score"].notna()]
    dup = out.duplicated(["cohort", "respondent", "wave", "item"], keep="first")
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        row = out.index[i]
        raise InputError(f"{source}:{row + 2}:item: respondent {out['respondent'].iloc[i]!r} rated item "
                         f"{out['item'].iloc[i]!r} twice in wave {out['wave'].iloc[i]!r}")
    return out.reset_index(drop=True)


def add_domain_scores(long: pd.DataFrame) -> pd.DataFrame:
    """Return item rows (``level='item'``) plus domain rows: the mean of each respondent's items.

    Domain rows have ``item`` = the domain id and ``level='domain'``. Without a
    ``domain`` column only item rows are returned.
    """
    items = long.copy()
    items["level"] = "item"
    if "domain" not in long.columns:
        return items
    has = long[long["domain"].astype(str) != ""]
    keys = ["cohort", "respondent", "wave", "domain"]
    extra = [c for c in ("pcn",) if c in long.columns]
    dom = has.groupby(keys, sort=True, observed=True).agg(score=("score", "mean"), **{c: (c, "first") for c in extra})
    dom = dom.reset_index()
    dom["item"] = dom["domain"]
    dom["level"] = "domain"
    return pd.concat([items, dom[items.columns.intersection(dom.columns)]], ignore_index=True)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV with '\\n' line endings and full float precision."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    return path
