"""One line per stage run saying what it did, read from the files the stage wrote.

``stage_summary("02_scores", parameters, root, since=t0)`` gives e.g.
``scores: 98 change rows, 12 mixed models, 15 ordinal models, 4 figures -> data/processed/results``.
The counts come from the stage's own outputs (ingest_report.json, the result CSVs,
themes.json, the figures written since ``since``), never from the notebook's output
cells, so the line says what is on disk. The folders are the notebook's parameters
(relative to the project root) or, where a parameter is absent or None, the project's
standard folders (``pcnstudy.core.paths``). A notebook without a summariser, or
outputs that cannot be read, still gets one line: that it ran, and where its report is.
Only the standard library is used: the line costs no pandas import in the runner.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable, Mapping

from pcnstudy.core import paths


def _folder(parameters: Mapping[str, Any], key: str, default: Path, root: Path) -> Path:
    """The folder a stage wrote to: its parameter, else the standard one, under ``root``."""
    value = parameters.get(key)
    relative = Path(value) if value not in (None, "") else default.relative_to(paths.ROOT)
    return relative if relative.is_absolute() else root / relative


def _shown(folder: Path, root: Path) -> str:
    """``folder`` as the user named it: relative to the project root when inside it."""
    try:
        return folder.relative_to(root).as_posix()
    except ValueError:
        return folder.as_posix()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _figures_written(folder: Path, since: float | None) -> int:
    """Figures (``fig-*.png``; each has an .svg twin) in ``folder`` written at or after ``since``."""
    if not folder.is_dir():
        return 0
    return sum(1 for f in folder.glob("fig-*.png") if since is None or f.stat().st_mtime >= since)


def ingest_summary(parameters: Mapping[str, Any], root: Path, since: float | None) -> str:
    out = _folder(parameters, "out_dir", paths.PROCESSED, root)
    report = json.loads((out / "ingest_report.json").read_text(encoding="utf-8"))
    totals = report["totals"]
    redactions = sum(int(n) for n in report.get("redaction", {}).values())
    return (f"ingest: {_plural(len(report['cohorts']), 'cohort')}, "
            f"{totals['rows_kept']:,} rows kept, {totals['rows_quarantined']:,} quarantined, "
            f"{_plural(redactions, 'redaction')} -> {_shown(out, root)}")


def scores_summary(parameters: Mapping[str, Any], root: Path, since: float | None) -> str:
    results = _folder(parameters, "results_dir", paths.RESULTS, root)
    figures = _folder(parameters, "figures_dir", paths.FIGURES, root)
    tables = results / "scores"
    change = _csv_rows(tables / "change_scores.csv")
    mixed = {(r["cohort"], r["item"], r.get("level", "")) for r in _csv_rows(tables / "mixed_models.csv")}
    ordinal_path = tables / "ordinal.csv"
    ordinal = ({(r.get("cohort"), r.get("domain", r.get("item"))) for r in _csv_rows(ordinal_path)}
               if ordinal_path.is_file() else set())
    return (f"scores: {_plural(len(change), 'change row')}, {_plural(len(mixed), 'mixed model')}, "
            f"{_plural(len(ordinal), 'ordinal model')}, {_plural(_figures_written(figures, since), 'figure')}"
            f" -> {_shown(results, root)}")


def themes_summary(parameters: Mapping[str, Any], root: Path, since: float | None) -> str:
    results = _folder(parameters, "results_dir", paths.RESULTS, root)
    doc = json.loads((results / "themes.json").read_text(encoding="utf-8"))
    free = int(doc.get("quality", {}).get("n_free_topics", 0))
    figures = sum(1 for name in doc.get("figures", []) if str(name).endswith(".png"))
    return (f"themes: {_plural(int(doc['n_responses']), 'text')}, {_plural(len(doc['themes']), 'theme')}, "
            f"{_plural(free, 'free topic')}, {_plural(figures, 'figure')} -> {_shown(results, root)}")


SUMMARIES: dict[str, Callable[[Mapping[str, Any], Path, float | None], str]] = {
    "ingest": ingest_summary,
    "scores": scores_summary,
    "themes": themes_summary,
}


def stage_of(notebook: str) -> str:
    """``"02_scores"`` -> ``"scores"``: the stage a notebook runs (its name without the number)."""
    head, _, tail = notebook.partition("_")
    return tail if head.isdigit() and tail else notebook


def stage_summary(notebook: str, parameters: Mapping[str, Any], root: Path,
                  since: float | None = None) -> str:
    """The one line ``pcnstudy notebook`` prints when ``notebook`` has run."""
    stage = stage_of(notebook)
    fallback = f"{stage}: ran notebooks/{notebook}.ipynb -> reports/{notebook}.html"
    summarise = SUMMARIES.get(stage)
    if summarise is None:
        return fallback
    try:
        return summarise(parameters, Path(root), since)
    except (OSError, KeyError, TypeError, ValueError) as err:  # the line informs; it never fails a stage
        return f"{fallback} (no summary: {type(err).__name__}: {err})"
