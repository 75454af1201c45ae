"""Reference values from tests/results/ and the named tolerances they are checked with."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"

# name -> absolute tolerance: a published value printed to d places is met when the
# package's value rounds to it (half a unit in the last place, plus float slack)
TOLERANCES = {
    "exact": 1e-12,
    "exact_float": 1e-12,
    "published_3dp": 0.5e-3 + 1e-9,
    "published_4dp": 0.5e-4 + 1e-9,
    "published_7dp": 0.5e-7 + 1e-12,
    "r_8dp": 0.5e-8 + 1e-12,  # R output printed with sprintf("%.8f")
    "r_6dp": 0.5e-6 + 1e-12,  # an iterative R fit (REML) checked to 6 decimals
}
# published to 4 significant figures: relative half-unit
RELATIVE = {"published_4sf": 0.5}  # half a unit of the 4th significant digit


def reference(check: str) -> dict[str, tuple[float, str]]:
    """{statistic: (value, tolerance name)} for one check."""
    table = pd.read_csv(RESULTS / "reference_values.csv")
    rows = table[table["check"] == check]
    if rows.empty:
        raise KeyError(check)
    return {r.statistic: (float(r.value), r.tolerance) for r in rows.itertuples()}


def assert_matches(check: str, values: dict[str, float]) -> None:
    """Assert every reference statistic of ``check`` is met by ``values``."""
    for stat, (expected, tol) in reference(check).items():
        got = values[stat]
        if tol in RELATIVE:
            # published to 4 significant figures: half a unit in the 4th significant digit
            allowed = RELATIVE[tol] * 10 ** (math.floor(math.log10(abs(expected))) - 3) + 1e-12
        else:
            allowed = TOLERANCES[tol]
        assert abs(got - expected) <= allowed, (check, stat, got, expected, tol)
