"""``pcnstudy twin``: run the twin check on the project's results and print one line."""
from __future__ import annotations

from pathlib import Path

from pcnstudy.core import paths
from pcnstudy.core.params import load_params, lookup
from pcnstudy.twin.stage import SETTING_KEYS, SIMULATION_CONFIG, TwinSettings, compute, read_inputs, write


def summary_line(summary: dict, where: str) -> str:
    """One line saying what the check found."""
    if not summary["n_cohorts"]:
        return f"twin: no simulated cohort in this run, nothing to compare -> {where}"
    change, themes = summary["change"], summary["themes"]
    parts = [f"{summary['n_cohorts']} simulated cohorts",
             f"{change.get('n_covered', 0)} of {change.get('n_intervals', 0)} intervals cover the truth"]
    if themes.get("n_themes"):
        parts.append(f"{themes['n_themes']} themes, mean kappa {themes['mean_kappa']:.2f} against the true themes")
    coverage = summary.get("coverage") or {}
    if coverage.get("n_methods"):
        parts.append(f"coverage of {coverage['n_methods']} interval methods over {coverage['n_replicates']} simulated "
                     f"studies {100 * coverage['pct_lowest']:.1f}-{100 * coverage['pct_highest']:.1f}%")
    return "twin: " + ", ".join(parts) + f" -> {where}"


def twin_command(root: Path | None = None) -> int:
    base = Path(root) if root is not None else paths.ROOT
    at = lambda path: base / path.relative_to(paths.ROOT)  # noqa: E731 - a project path under ``base``
    params = load_params(at(paths.PARAMS))
    settings = TwinSettings(**{name: lookup(params, key) for name, key in SETTING_KEYS.items()})
    inputs = read_inputs(at(paths.PROCESSED), at(paths.RESULTS), at(paths.TRUTH), at(paths.CODEBOOK),
                         at(SIMULATION_CONFIG), at(paths.INSTRUMENT))
    result = compute(inputs, settings)
    write(result, at(paths.RESULTS), at(paths.FIGURES))
    print(summary_line(result.summary, f"{paths.RESULTS.relative_to(paths.ROOT).as_posix()}/twin"))
    return 0
