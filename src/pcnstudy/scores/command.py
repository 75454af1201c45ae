"""``pcnstudy scores --ratings FILE --out DIR``: change scores and mixed models for any
long table of ratings (one row per respondent, wave and item), outside the pipeline.

Writes ``change_scores.csv`` and ``mixed_models.csv`` into DIR; returns 0 on success,
1 on bad input (one line on stderr naming the file, row and column), 2 on a usage error.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

from pcnstudy.scores.change import change_table
from pcnstudy.scores.mixed import mixed_table
from pcnstudy.scores.ratings_table import InputError, add_domain_scores, read_long, validate_long, write_csv


def scores_command(ratings: Path, out: Path, waves: str | None = None, alpha: float = 0.05) -> int:
    """``pcnstudy scores``: change_scores.csv and mixed_models.csv for a long table.

    Returns 0 on success, 1 on bad input (one line on stderr), 2 on a usage error.
    """
    if not (0 < alpha < 1):
        print(f"error: --alpha must be between 0 and 1, got {alpha}", file=sys.stderr)
        return 2
    wave_list = [w.strip() for w in waves.split(",") if w.strip()] if waves else None
    if waves is not None and not wave_list:
        print("error: --waves is empty", file=sys.stderr)
        return 2
    try:
        frame = read_long(Path(ratings))
        long = validate_long(frame, wave_list, source=str(ratings))
        if long.empty:
            raise InputError(f"{ratings}:0:score: no scores to analyse")
        data = add_domain_scores(long)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            change = change_table(data, wave_list, alpha=alpha)
            mixed = mixed_table(data, wave_list, alpha=alpha)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(out)
    write_csv(change, out / "change_scores.csv")
    write_csv(mixed, out / "mixed_models.csv")
    print(f"wrote {out / 'change_scores.csv'} ({len(change)} rows) and {out / 'mixed_models.csv'} ({len(mixed)} rows)")
    return 0
