"""One package stage in a fresh, measured child process: the parent's and the child's side.

Parent side: ``run_child_stage(stage, args, work, scenario)`` writes a small JSON spec,
runs ``python -m pcnstudy.bench.child_stages SPEC`` under ``measure.run_measured`` and
gives its ``Measurement`` (wall time, peak RSS, plus what the child reported: table
sizes, inner seconds); ``run_child_stages`` runs ingest, scores and themes one after
the other. Child side: ``child_main(SPEC)`` runs one of ``CHILD_STAGES`` (simulate,
ingest, scores, themes, throughput) through the package's own functions and writes
its result with its own peak RSS. Each child imports only the stage it runs, so its
memory and time are that stage's alone.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow.parquet as pq
from pcnstudy.core.progress import progress

from pcnstudy.bench.measure import Measurement, log_tail, run_measured, say
from pcnstudy.core.params import load_params


def run_child_stage(stage: str, args: dict[str, Any], work: Path, scenario: str) -> Measurement:
    """Run one package stage (``child_main``) in a fresh Python process and measure it."""
    spec = work / f"{scenario}-{stage}.json"
    result = work / f"{scenario}-{stage}.result.json"
    spec.write_text(json.dumps({"stage": stage, "args": args, "result": str(result)}), encoding="utf-8")
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1")})
    whole, _ = run_measured([sys.executable, "-m", "pcnstudy.bench.child_stages", str(spec)], env=env,
                            log=work / f"{scenario}-{stage}.log")
    whole.scenario, whole.stage = scenario, stage
    if result.is_file():
        info = json.loads(result.read_text(encoding="utf-8"))
        whole.peak_rss_mib = round(max(whole.peak_rss_mib, info.pop("maxrss_mib", 0.0)), 1)
        whole.extra.update(info)
    if whole.returncode != 0:
        whole.extra["log"] = log_tail(work / f"{scenario}-{stage}.log")
    return whole


def run_child_stages(root: Path, raw: Path, processed: Path, work: Path, scenario: str,
                     stages: Iterable[str] = ("ingest", "scores", "themes")) -> list[Measurement]:
    """Run ``stages`` of the study in ``raw`` one after the other, each in its own child; stop at a failure."""
    rows = []
    stages = list(stages)
    for stage in progress(stages, desc=scenario, unit="stage", leave=False):
        say(f"{scenario}: {stage}")
        m = run_child_stage(stage, {"raw": str(raw), "processed": str(processed), "root": str(root)},
                            work, scenario)
        rows.append(m)
        if m.returncode != 0:
            break
    return rows


def _child_simulate(args: dict[str, Any]) -> dict[str, Any]:
    # imported here, in the child, so each measured process loads only the stage it measures
    from pcnstudy.simulate.study import simulate_command

    code = simulate_command(config=Path(args["config"]), out=Path(args["out"]), truth=Path(args["truth"]),
                            seed=None)
    if code:
        raise SystemExit(code)
    n_files = sum(1 for p in Path(args["out"]).rglob("*") if p.is_file())
    return {"files": n_files}


def _child_ingest(args: dict[str, Any]) -> dict[str, Any]:
    # imported here, in the child, so each measured process loads only the stage it measures
    from pcnstudy.ingest.commands import ingest_study

    raw = Path(args["raw"])
    cohorts = sorted(p.parent.name for p in raw.glob("*/cohort.yml"))
    processed = Path(args["processed"])
    ingest_study(raw=raw, out=processed, cohorts=cohorts)
    tables = {name: _rows(processed / f"{name}.parquet") for name in ("respondents", "ratings", "feedback", "texts")}
    return {"size": sum(tables.values()), "rows": tables}


def _stage_params(args: dict[str, Any]) -> dict[str, Any]:
    """params.yaml of the project, with ``cohorts`` cleared: the bench study's cohorts all count."""
    params = load_params(Path(args["root"]) / "params.yaml")
    params["cohorts"] = []
    return params


def _child_scores(args: dict[str, Any]) -> dict[str, Any]:
    # imported here, in the child, so each measured process loads only the stage it measures
    from pcnstudy.scores.stage import run_scores_stage

    processed = Path(args["processed"])
    run_scores_stage(processed, processed / "results", processed.parent / "figures", _stage_params(args))
    return {"size": _rows(processed / "ratings.parquet")}


def _child_themes(args: dict[str, Any]) -> dict[str, Any]:
    # imported here, in the child, so each measured process loads only the stage it measures
    from pcnstudy.themes.stage import run_themes_stage

    processed = Path(args["processed"])
    run_themes_stage(processed, processed / "results", processed.parent / "figures", _stage_params(args),
                     Path(args["root"]) / "config" / "codebook.yml")
    return {"size": _rows(processed / "texts.parquet")}


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


def _child_throughput(args: dict[str, Any]) -> dict[str, Any]:
    # imported here, in the child, so each measured process loads only the stage it measures
    from pcnstudy.bench.throughput import compare_theme_model_with_gensim

    return compare_theme_model_with_gensim(Path(args["processed"]), Path(args["root"]))


CHILD_STAGES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "simulate": _child_simulate,
    "ingest": _child_ingest,
    "scores": _child_scores,
    "themes": _child_themes,
    "throughput": _child_throughput,
}


def child_main(spec_path: str) -> int:
    """Entry point of a measured child: run one stage, write its result and own peak RSS."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    root = spec["args"].get("root")
    if root:
        os.environ["PCNSTUDY_ROOT"] = root
    if spec["stage"] not in CHILD_STAGES:
        print(f"bench: unknown stage {spec['stage']!r} (one of {', '.join(CHILD_STAGES)})", file=sys.stderr)
        return 2
    start = time.perf_counter()
    info = CHILD_STAGES[spec["stage"]](spec["args"]) or {}
    info["inner_s"] = round(time.perf_counter() - start, 3)
    info["maxrss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(spec["result"]).write_text(json.dumps(info, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
