"""The disclosure audit of everything the study publishes, read from the results files.

The paper's tables, the counts its figures draw (fig-feedback, fig-theme-heatmap and
fig-theme-cooccurrence plot the published tables' values) and the supplementary
bundle all come from the results CSVs, so auditing those CSVs together audits the
publication. ``audit_results(results_dir, instrument, threshold, round_to)`` reads
them as a reader would (strings, markers as markers) and returns, per CSV, the leaks
``pcnstudy.core.disclosure_audit.audit`` finds:

- linked groups (``LINKED``), audited as one system each: feedback proportions with
  the Kirkpatrick table; attrition, attrition by profession and the change table's
  pairs; theme prevalence (every dimension) with sentiment by theme;
- other count tables (``COUNT_COLUMNS``): no published count from 1 to threshold - 1;
- ``RESPONSE_LEVEL`` tables (one row per response, e.g. themes/doc_themes.csv) are never
  published: every hidden count could be recounted from them.

``bundle_files(results_dir, report)`` lists the CSVs the supplementary bundle may carry:
those with no leak, never a response-level table, with ``DROPPED_COLUMNS`` removed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from pcnstudy.core.disclosure import SECONDARY_MARKER
from pcnstudy.core.disclosure_audit import Leak, Linked, audit
from pcnstudy.core.published import Counts, attrition_model, feedback_model, prevalence_model

#: Tables with one row per response (never published).
RESPONSE_LEVEL = {"themes/doc_themes.csv": "one row per response: every hidden count could be recounted from it"}
#: Columns left out of a published table (row identifiers of single responses).
DROPPED_COLUMNS = {"themes/quotes.csv": ["id"]}
#: Groups of tables that share margins, audited together.
LINKED = {
    "feedback": ("scores/feedback_proportions.csv", "scores/kirkpatrick.csv"),
    "attrition": ("scores/attrition.csv", "scores/attrition_by_profession.csv", "scores/change_scores.csv"),
    "prevalence": ("themes/prevalence.csv", "themes/sentiment.csv"),
}
#: Count columns of the other published tables (each checked for counts below the threshold).
COUNT_COLUMNS = {
    "scores/reliability.csv": ["n"],
    "scores/then_test.csv": ["n_pairs"],
    "scores/mixed_models.csv": ["n_respondents"],
    "scores/ordinal.csv": ["n_respondents"],
    "scores/unpaired_change.csv": ["n_from", "n_to"],
    "scores/unpaired_models.csv": ["n_respondents", "n_obs"],
    "themes/cooccurrence.csv": ["n"],
}


def _read(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def feedback_labels(instrument: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """{feedback item: {"kirkpatrick": level, "impact": level}} from the instrument."""
    return {str(f["id"]): {k: str(f[k]) for k in ("kirkpatrick", "impact") if f.get(k)}
            for f in (instrument or {}).get("feedback") or []}


def _linked_leaks(group: str, frames: Mapping[str, pd.DataFrame | None], counts: Counts,
                  labels: Mapping[str, Mapping[str, str]], round_to: int | None) -> list[Leak]:
    linked = Linked()
    f = list(frames.values())
    if group == "feedback" and f[0] is not None:
        feedback_model(counts, linked, f[0], f[1], labels)
    elif group == "attrition" and f[0] is not None:
        attrition_model(counts, linked, f[0], f[1], f[2])
    elif group == "prevalence" and f[0] is not None:
        prevalence_model(counts, linked, f[0], f[1])
    return audit(linked, counts.threshold, round_to)


def _table_of(leak: Leak, names: tuple[str, ...]) -> str:
    stem = leak.name.split("|", 1)[0]
    return next((n for n in names if Path(n).stem == stem), names[0])


def audit_results(results_dir: Path, instrument: Mapping[str, Any] | None, threshold: int, marker: str,
                  round_to: int | None = None) -> dict[str, list[str]]:
    """{results CSV (relative path): its leaks as text} for every CSV under ``results_dir``."""
    results_dir = Path(results_dir)
    counts = Counts(int(threshold), False, marker, SECONDARY_MARKER)
    labels = feedback_labels(instrument)
    report: dict[str, list[str]] = {p.relative_to(results_dir).as_posix(): []
                                    for p in sorted(results_dir.rglob("*.csv"))}
    for name, why in RESPONSE_LEVEL.items():
        if name in report:
            report[name].append(f"not publishable: {why}")
    for group, names in LINKED.items():
        frames = {n: _read(results_dir / n) for n in names}
        for leak in _linked_leaks(group, frames, counts, labels, round_to):
            where = _table_of(leak, names)
            report.setdefault(where, []).append(str(leak))
            if "contradict" in leak.reason:  # a false marker puts every table of the group in doubt
                for other in names:
                    if other != where and other in report:
                        report[other].append(f"linked to {where}: {leak}")
    for name, cols in COUNT_COLUMNS.items():
        frame = _read(results_dir / name)
        if frame is None:
            continue
        for col in cols:
            if col not in frame.columns:
                continue
            values = pd.to_numeric(frame[col], errors="coerce")
            for pos in frame.index[(values >= 1) & (values < threshold)]:
                report[name].append(f"{name} row {pos + 2} column {col}: published count {frame.at[pos, col]} "
                                    f"below {threshold}")
    return report


def bundle_files(report: Mapping[str, list[str]]) -> list[str]:
    """The results CSVs the supplementary bundle may carry: audited without a leak."""
    return sorted(name for name, leaks in report.items() if not leaks and name not in RESPONSE_LEVEL)


def bundle_table(results_dir: Path, name: str) -> bytes:
    """A CSV as the bundle carries it (``DROPPED_COLUMNS`` removed)."""
    path = Path(results_dir) / name
    drop = DROPPED_COLUMNS.get(name)
    if not drop:
        return path.read_bytes()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.drop(columns=[c for c in drop if c in frame.columns]).to_csv(index=False).encode("utf-8")


def summary_lines(report: Mapping[str, list[str]]) -> list[str]:
    """One line per results CSV: 'name: ok' or 'name: N leaks (first ...)'."""
    lines = []
    for name, leaks in sorted(report.items()):
        lines.append(f"{name}: ok" if not leaks else f"{name}: {len(leaks)} leak(s), e.g. {leaks[0]}")
    return lines
