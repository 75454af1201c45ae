"""Benchmarks: wall time and peak memory of the pipeline, at demonstration and national scale.

``bench_command()`` (``pcnstudy bench``; ``benchmarks/run.py`` calls the same code) runs
the scenarios below, writes ``reports/bench.json`` and prints a table. Each row is one
stage of one scenario: ``wall_s`` (seconds) and ``peak_rss_mib`` (the largest resident
memory of that stage's processes taken together, MiB).

Scenarios
- ``cold``: ``dvc repro`` of the demonstration study in a fresh copy of the project
  (``verify.project_copy.copy_project``, no DVC cache); per-stage figures come from watching
  dvc's process tree (each stage's command and the kernel it starts).
- ``noop``: a second ``dvc repro`` in that copy (nothing to do).
- ``incremental``: ``dvc repro`` after appending whitespace to a markdown cell of one
  notebook (the themes notebook by default).
- ``floor``: right after ``cold``, in another fresh copy, the three stage notebooks cut
  after their parameters and imports cells, each run by its dvc.yaml command
  (``pcnstudy notebook NAME -p ...``: papermill, a kernel, nbconvert), then a
  one-paragraph document through the paper's render path (``pcnstudy.paper.render``)
  in a fresh process. ``cold / floor`` (the ``cold_over_floor`` entry of the report) is
  how much the study's own work adds to that unavoidable overhead; goal at most 1.5.
- ``national``: the national-scale simulated study (``config/simulation-national.yml``)
  written by ``pcnstudy simulate``, then ingest, scores and themes, each in its own
  child process calling the package's functions (peak RSS per stage, not cumulative).
- ``throughput``: the theme model (``pcnstudy.themes.topics``) against gensim's ``LdaModel``
  (one pass, the same number of topics) on the same corpus, side by side: docs/s each
  and their ratio.
- ``growth``: scores and themes at 1x, 4x and 16x the demonstration study; the exponent
  of time against size from a least-squares fit of log time on log size.

Budgets are goals reported beside the figures, never asserted.

Where each part lives: ``measure`` (``Measurement``, ``run_measured``), ``child_stages``
(one stage in a measured child process: ``run_child_stage``, ``child_main``),
``dvc_runs`` (cold, noop, incremental; ``touch_notebook``, ``stage_keys_from_dvc``;
floor: ``trim_notebook``, ``notebook_commands``, ``one_paragraph_paper``, ``bench_floor``),
``scaled_studies`` (national, throughput, growth; ``scale_simulation_config``,
``fit_exponent``, ``exponents_with_national``), ``throughput`` (theme model vs
gensim), ``report`` (``budgets_status``, ``cold_over_floor``, ``format_table``,
``format_budgets``, ``write_report``). This
module runs the chosen scenarios (``run_benchmarks``, ``bench_command``).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Sequence

from pcnstudy.bench.child_stages import child_main
from pcnstudy.bench.dvc_runs import (
    DVC_SCENARIOS,
    bench_dvc,
    bench_floor,
)
from pcnstudy.bench.measure import Measurement, machine_info
from pcnstudy.bench.report import (
    budgets_status,
    cold_over_floor,
    format_budgets,
    throughput_line,
    format_table,
    write_report,
)
from pcnstudy.bench.scaled_studies import (
    GROWTH_FACTORS,
    bench_growth,
    bench_national,
    bench_throughput,
    exponents_with_national,
)
from pcnstudy.core import paths

SCENARIOS = ("cold", "floor", "noop", "incremental", "national", "throughput", "growth")



def run_benchmarks(
    scenarios: Iterable[str] = SCENARIOS,
    root: Path | None = None,
    work: Path | None = None,
    national_config: Path | None = None,
    growth_factors: Sequence[int] = GROWTH_FACTORS,
) -> dict[str, Any]:
    """Run the chosen scenarios and return the report (rows, budgets, machine, extras)."""
    root = Path(root or paths.ROOT)
    scenarios = list(scenarios)
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)} (choose from {', '.join(SCENARIOS)})")
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="pcnstudy-bench-"))
    rows: list[Measurement] = []
    report: dict[str, Any] = {"machine": machine_info(), "scenarios": scenarios}
    throughput: dict[str, Any] | None = None
    try:
        if set(DVC_SCENARIOS) & set(scenarios):
            (work / "dvc").mkdir(parents=True, exist_ok=True)
            rows += bench_dvc(root, work / "dvc", scenarios=scenarios)
        if "floor" in scenarios:
            (work / "floor").mkdir(parents=True, exist_ok=True)
            rows += bench_floor(root, work / "floor")
        processed = None
        if "national" in scenarios or "throughput" in scenarios:
            (work / "national").mkdir(parents=True, exist_ok=True)
            # the throughput scenario alone needs only the national texts (simulate, ingest)
            stages = ("ingest", "scores", "themes") if "national" in scenarios else ("ingest",)
            national_rows, processed = bench_national(root, work / "national", national_config, stages=stages)
            if "national" in scenarios:
                rows += national_rows
        if "throughput" in scenarios and processed is not None and (processed / "texts.parquet").is_file():
            (work / "throughput").mkdir(parents=True, exist_ok=True)
            m = bench_throughput(root, processed, work / "throughput")
            rows.append(m)
            throughput = {k: v for k, v in m.extra.items() if k != "log"} if m.returncode == 0 else None
            report["throughput"] = throughput or {"error": m.extra.get("log", "")}
        if "growth" in scenarios:
            growth_rows, exponents = bench_growth(root, work / "growth", growth_factors)
            rows += growth_rows
            report["growth_exponents"] = exponents
            report["growth_exponents_to_national"] = exponents_with_national(growth_rows, rows)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    report["rows"] = [asdict(m) for m in rows]
    report["cold_over_floor"] = cold_over_floor(rows)
    report["budgets"] = budgets_status(rows, throughput)
    return report


def bench_command(scenarios: Iterable[str] | None = None, out: Path | None = None,
                  work: Path | None = None) -> int:
    """``pcnstudy bench``: run the benchmarks, print the table, write reports/bench.json."""
    try:
        report = run_benchmarks(scenarios or SCENARIOS, work=work)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    rows = [Measurement(**r) for r in report["rows"]]
    print(format_table(rows))
    if report.get("throughput") and "ratio" in report["throughput"]:
        t = report["throughput"]
        print(throughput_line(t))
    if report.get("growth_exponents"):
        print("growth exponents: " + ", ".join(f"{k} {v:.2f}" for k, v in report["growth_exponents"].items()))
    if report.get("cold_over_floor"):
        c = report["cold_over_floor"]
        print(f"cold / floor: {c['cold_s']:.2f} s / {c['floor_s']:.2f} s = {c['ratio']:.2f}")
    print("\nbudgets:")
    print(format_budgets(report["budgets"]))
    path = write_report(report, Path(out) if out else paths.REPORTS / "bench.json")
    print(f"\nwrote {path}")
    failed = [r for r in rows if r.returncode != 0]
    return 1 if failed else 0


if __name__ == "__main__":  # same as `python -m pcnstudy.bench.child_stages SPEC`: one measured child stage
    sys.exit(child_main(sys.argv[1]))
