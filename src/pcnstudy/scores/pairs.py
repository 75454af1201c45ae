"""Complete pairs of domain scores, one block per cohort x domain x later wave, for the
effect-size and bias analyses.

``paired_blocks(data, wave_order, level)`` takes the long table with domain rows
(``pcnstudy.scores.ratings_table.add_domain_scores``; retrospective waves left out)
and yields one ``PairedBlock`` per cohort x item (domain) x later wave: the first
wave's and the later wave's scores of the respondents who have both (sorted by
respondent), each respondent's PCN (None without a ``pcn`` column) and how many
respondents had the first wave at all (the baseline sample the completers come
from). The same pairs as ``pcnstudy.scores.change.change_table``'s rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairedBlock:
    """One cohort x item x later wave: the complete pairs and the baseline sample size."""

    cohort: str
    level: str
    item: str
    wave_from: str
    wave_to: str
    x_from: np.ndarray
    x_to: np.ndarray
    pcn: np.ndarray | None
    n_baseline: int

    @property
    def n_pairs(self) -> int:
        return int(self.x_from.size)

    @property
    def diff(self) -> np.ndarray:
        return self.x_to - self.x_from


def paired_blocks(data: pd.DataFrame, wave_order: list[str], level: str = "domain") -> Iterator[PairedBlock]:
    """Yield the complete pairs of each cohort x item (of ``level``) x later wave, first wave as baseline."""
    rows = data[data["level"] == level] if "level" in data.columns else data
    for cohort, sub in rows.groupby("cohort", sort=True):
        seen = set(sub["wave"].unique())
        waves = [w for w in wave_order if w in seen]
        if len(waves) < 2:
            continue
        wide = sub.pivot_table(index=["item", "respondent"], columns="wave", values="score", aggfunc="first",
                               observed=True, sort=True)
        pcn_of = (sub.dropna(subset=["pcn"]).groupby("respondent")["pcn"].first()
                  if "pcn" in sub.columns else None)
        first = waves[0]
        for item, block in wide.groupby(level="item", sort=True):
            block = block.droplevel("item")
            n_baseline = int(block[first].notna().sum())
            for later in waves[1:]:
                pair = block[[first, later]].dropna().sort_index()
                if pair.empty:
                    continue
                pcn = None
                if pcn_of is not None:
                    pcn = pcn_of.reindex(pair.index).to_numpy(dtype=object)
                yield PairedBlock(cohort=str(cohort), level=level, item=str(item), wave_from=first, wave_to=later,
                                  x_from=pair[first].to_numpy(float), x_to=pair[later].to_numpy(float), pcn=pcn,
                                  n_baseline=n_baseline)


#: The columns that identify a row of a paired table, never hidden.
KEY_COLUMNS = ("cohort", "level", "item", "wave_from", "wave_to")


def hide_counts(table: pd.DataFrame, count: str, threshold: int, marker: str,
                columns: list[str] | None = None) -> pd.DataFrame:
    """Disclosure control of a paired table: where ``count`` is between 1 and threshold - 1,
    ``columns`` (default: every column but the keys) show ``marker`` instead."""
    out = table.astype(object).copy()
    if out.empty:
        return out
    values = pd.to_numeric(table[count], errors="coerce")
    small = (values > 0) & (values < threshold)
    cols = columns if columns is not None else [c for c in out.columns if c not in KEY_COLUMNS]
    for col in cols:
        out.loc[small, col] = marker
    return out
