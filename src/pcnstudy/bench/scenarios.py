"""Benchmarks: wall time and peak memory of the pipeline, at demonstration and national scale.

``bench_command()`` (``pcnstudy bench``; ``benchmarks/run.py`` calls the same code) runs
the scenarios below, writes ``reports/bench.json`` and prints a table. Each row is one
stage of one scenario: ``wall_s`` (seconds) and ``peak_rss_mib`` (the largest resident
memory of that stage's processes taken together, MiB).

Scenarios
- ``cold``: ``dvc repro`` of the demonstration study in a fresh copy of the project
  (``workspace.copy_project``, no DVC cache); per-stage figures come from watching
  dvc's process tree (each stage's command and the kernel it starts).
- ``noop``: a second ``dvc repro`` in that copy (nothing to do).
- ``incremental``: ``dvc repro`` after appending whitespace to a markdown cell of one
  notebook (the themes notebook by default).
- ``national``: the national-scale simulated study (``config/simulation-national.yml``)
  written by ``pcnstudy simulate``, then ingest, scores and themes, each in its own
  child process calling the package's functions (peak RSS per stage, not cumulative).
- ``throughput``: the theme model (``pcnstudy.themes.topics``) against gensim's ``LdaModel``
  (one pass, the same number of topics) on the same corpus, side by side: docs/s each
  and their ratio.
- ``growth``: scores and themes at 1x, 4x and 16x the demonstration study; the exponent
  of time against size from a least-squares fit of log time on log size.

Budgets are goals reported beside the figures, never asserted.

Public functions: ``run_measured``, ``fit_exponent``, ``scale_simulation_config``,
``touch_notebook``, ``format_table``, ``write_report``, ``run_benchmarks``,
``bench_command``.
"""
from __future__ import annotations

import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

from pcnstudy.core import paths

MIB = 1024 * 1024
POLL_INTERVAL_S = 0.05
SCENARIOS = ("cold", "noop", "incremental", "national", "throughput", "growth")
GROWTH_FACTORS = (1, 4, 16)
NATIONAL_CONFIG = "simulation-national.yml"

# Goals from the issue; reported, not asserted.
BUDGETS = {
    "cold_total_s": 30.0,
    "noop_total_s": 2.0,
    "national_total_s": 180.0,
    "national_peak_rss_mib": 2048.0,
    "theme_vs_gensim_ratio": 1.0,
}


@dataclass
class Measurement:
    """One timed step: which scenario and stage, seconds, peak RSS (MiB), exit code."""

    scenario: str
    stage: str
    wall_s: float
    peak_rss_mib: float
    returncode: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- measuring


def _stage_of(cmdline: str, stage_keys: dict[str, str]) -> str | None:
    for stage, key in stage_keys.items():
        if key and key in cmdline:
            return stage
    return None


def run_measured(
    cmd: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stage_keys: dict[str, str] | None = None,
    interval: float = POLL_INTERVAL_S,
    log: Path | None = None,
) -> tuple[Measurement, dict[str, Measurement]]:
    """Run ``cmd`` and measure it; return (the whole run, per-stage measurements).

    Memory is the sum of the RSS of the process and all its descendants, sampled every
    ``interval`` seconds (so a stage's peak is that of its own command plus anything it
    starts, such as a Jupyter kernel). A descendant belongs to stage ``s`` when its
    command line contains ``stage_keys[s]``, or its parent belongs to ``s``. A stage's
    wall time runs from the first to the last sample that saw one of its processes.
    The whole run's peak also takes the largest single child's ``ru_maxrss`` (exact,
    catches short spikes between samples). Output goes to ``log`` (or is discarded).
    """
    import psutil

    stage_keys = stage_keys or {}
    sink = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        owner: dict[int, str | None] = {}
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        peak_stage: dict[str, float] = {}
        peak_total = 0.0
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            root = None
        while True:
            status = _wait4_nohang(proc.pid)
            if status is not None:
                code, maxrss_kib = status
                break
            if root is not None:
                now = time.perf_counter() - start
                total = 0
                per_stage: dict[str, int] = {}
                try:
                    members = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    members = []
                for member in members:
                    try:
                        rss = member.memory_info().rss
                        if member.pid not in owner:
                            stage = _stage_of(" ".join(member.cmdline()), stage_keys)
                            if stage is None:
                                stage = owner.get(member.ppid())
                            owner[member.pid] = stage
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                    total += rss
                    stage = owner.get(member.pid)
                    if stage:
                        per_stage[stage] = per_stage.get(stage, 0) + rss
                peak_total = max(peak_total, total / MIB)
                for stage, rss in per_stage.items():
                    first.setdefault(stage, now)
                    last[stage] = now
                    peak_stage[stage] = max(peak_stage.get(stage, 0.0), rss / MIB)
            time.sleep(interval)
        proc.returncode = code
        wall = time.perf_counter() - start
    finally:
        if log:
            sink.close()
    whole = Measurement("", "total", round(wall, 3), round(max(peak_total, maxrss_kib / 1024), 1), code)
    stages = {
        s: Measurement("", s, round(last[s] - first[s] + interval, 3), round(peak_stage[s], 1), code)
        for s in sorted(first, key=first.get)
    }
    return whole, stages


def _wait4_nohang(pid: int) -> tuple[int, float] | None:
    """Reap ``pid`` if it has ended: (exit code, its largest process's maxrss KiB)."""
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    return code, float(usage.ru_maxrss)


# --------------------------------------------------------------------------- helpers


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) on log(size): time grows as size ** slope."""
    import numpy as np

    if len(sizes) != len(times) or len(sizes) < 2:
        raise ValueError("fit_exponent needs at least two (size, time) pairs")
    x = np.log(np.asarray(sizes, dtype=float))
    y = np.log(np.asarray(times, dtype=float))
    slope = np.polyfit(x, y, 1)[0]
    return float(slope)


_COUNT_KEYS = ("n_respondents",)


def scale_simulation_config(config: dict[str, Any], factor: int) -> dict[str, Any]:
    """A copy of a simulation config with every cohort ``factor`` times as large.

    Scales respondent numbers and every exact count that depends on them (fixed
    responders, late joiners, fixed roles, exact yes counts, interviews); shares,
    probabilities and PCN lists stay as they are.
    """
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"scale factor must be a whole number >= 1, got {factor}")
    factor = int(factor)
    out = copy.deepcopy(config)
    for cohort in (out.get("cohorts") or {}).values():
        for key in _COUNT_KEYS:
            if isinstance(cohort.get(key), int):
                cohort[key] *= factor
        for key in ("respond", "join_at", "roles_fixed"):
            block = cohort.get(key)
            if isinstance(block, dict):
                for name, value in block.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        block[name] = value * factor
        for wave in (cohort.get("waves") or {}).values():
            feedback = wave.get("feedback") if isinstance(wave, dict) else None
            for spec in (feedback or {}).values():
                if isinstance(spec, dict) and isinstance(spec.get("count"), int):
                    spec["count"] *= factor
        interviews = cohort.get("interviews")
        if isinstance(interviews, dict) and isinstance(interviews.get("n"), int):
            interviews["n"] *= factor
    return out


def touch_notebook(path: Path) -> None:
    """Append a space to the first markdown cell of a notebook (changes its hash only)."""
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            if isinstance(source, list):
                if source:
                    source[-1] = source[-1] + " "
                else:
                    source.append(" ")
            else:
                cell["source"] = source + " "
            break
    else:
        raise ValueError(f"{path}: no markdown cell to touch")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def stage_keys_from_dvc(dvc_yaml: Path) -> dict[str, str]:
    """Map each DVC stage to a string that identifies its command line (its first words)."""
    stages = (yaml.safe_load(Path(dvc_yaml).read_text(encoding="utf-8")) or {}).get("stages") or {}
    keys = {}
    for name, spec in stages.items():
        words = []
        for word in str(spec.get("cmd", "")).split():
            if word.startswith("-") or "${" in word:
                break
            words.append(word)
        keys[name] = " ".join(words[1:] if len(words) > 1 else words)
    return keys


def stage_order_from_dvc(dvc_yaml: Path) -> list[str]:
    stages = (yaml.safe_load(Path(dvc_yaml).read_text(encoding="utf-8")) or {}).get("stages") or {}
    return list(stages)


def machine_info() -> dict[str, Any]:
    """The machine the figures were measured on."""
    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def venv_bin() -> Path:
    return Path(sys.executable).parent


def pipeline_env(root: Path) -> dict[str, str]:
    """Environment for dvc and pcnstudy inside ``root``: this interpreter's bin on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{venv_bin()}{os.pathsep}{env.get('PATH', '')}"
    env["PCNSTUDY_ROOT"] = str(root)
    return env


def _dvc() -> str:
    candidate = venv_bin() / "dvc"
    return str(candidate) if candidate.exists() else "dvc"


def _tag(scenario: str, whole: Measurement, stages: dict[str, Measurement]) -> list[Measurement]:
    rows = []
    for m in [*stages.values(), whole]:
        m.scenario = scenario
        rows.append(m)
    return rows


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- scenarios


def bench_dvc(root: Path, work: Path, touch: str | None = None) -> list[Measurement]:
    """Scenarios cold, noop and incremental in a fresh copy of ``root`` under ``work``."""
    from pcnstudy.core.workspace import copy_project

    copy_root = copy_project(work / "project", root)
    for cache in (copy_root / ".dvc" / "cache", copy_root / ".dvc" / "tmp"):
        shutil.rmtree(cache, ignore_errors=True)
    env = pipeline_env(copy_root)
    keys = stage_keys_from_dvc(copy_root / "dvc.yaml")
    rows: list[Measurement] = []
    _progress("cold dvc repro of the demonstration study")
    whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                 log=work / "cold.log")
    rows += _tag("cold", whole, stages)
    if whole.returncode != 0:
        whole.extra["log"] = _tail(work / "cold.log")
        return rows
    _progress("no-op dvc repro")
    whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                 log=work / "noop.log")
    rows += _tag("noop", whole, stages)
    notebook = copy_root / "notebooks" / f"{touch}.ipynb" if touch else _last_notebook(copy_root)
    if notebook and notebook.is_file():
        touch_notebook(notebook)
        _progress(f"incremental dvc repro after touching {notebook.name}")
        whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                     log=work / "incremental.log")
        whole.extra["touched"] = f"notebooks/{notebook.name}"
        rows += _tag("incremental", whole, stages)
    return rows


def _last_notebook(root: Path) -> Path | None:
    found = sorted((root / "notebooks").glob("*_themes.ipynb")) or sorted((root / "notebooks").glob("*.ipynb"))
    return found[-1] if found else None


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def run_child_stage(stage: str, args: dict[str, Any], work: Path, scenario: str) -> Measurement:
    """Run one package stage (``child_main``) in a fresh Python process and measure it."""
    spec = work / f"{scenario}-{stage}.json"
    result = work / f"{scenario}-{stage}.result.json"
    spec.write_text(json.dumps({"stage": stage, "args": args, "result": str(result)}), encoding="utf-8")
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1")})
    whole, _ = run_measured([sys.executable, "-m", "pcnstudy.bench.scenarios", str(spec)], env=env,
                            log=work / f"{scenario}-{stage}.log")
    whole.scenario, whole.stage = scenario, stage
    if result.is_file():
        info = json.loads(result.read_text(encoding="utf-8"))
        whole.peak_rss_mib = round(max(whole.peak_rss_mib, info.pop("maxrss_mib", 0.0)), 1)
        whole.extra.update(info)
    if whole.returncode != 0:
        whole.extra["log"] = _tail(work / f"{scenario}-{stage}.log")
    return whole


def bench_national(root: Path, work: Path, config: Path | None = None) -> tuple[list[Measurement], Path]:
    """Simulate the national study and run ingest, scores and themes on it; return rows, processed dir."""
    config = Path(config or root / "config" / NATIONAL_CONFIG)
    raw, truth, processed = work / "raw", work / "truth", work / "processed"
    rows = [run_child_stage("simulate", {"config": str(config), "out": str(raw), "truth": str(truth),
                                         "root": str(root)}, work, "national")]
    rows += _run_stages(root, raw, processed, work, "national")
    return rows, processed


def _run_stages(root: Path, raw: Path, processed: Path, work: Path, scenario: str,
                stages: Iterable[str] = ("ingest", "scores", "themes")) -> list[Measurement]:
    from tqdm import tqdm

    rows = []
    stages = list(stages)
    for stage in tqdm(stages, desc=scenario, unit="stage", disable=not sys.stderr.isatty(), leave=False):
        _progress(f"{scenario}: {stage}")
        m = run_child_stage(stage, {"raw": str(raw), "processed": str(processed), "root": str(root)},
                            work, scenario)
        rows.append(m)
        if m.returncode != 0:
            break
    return rows


def bench_throughput(root: Path, processed: Path, work: Path) -> Measurement:
    """Theme model vs gensim LdaModel on the texts in ``processed`` (one child process)."""
    _progress("throughput: theme model vs gensim LdaModel")
    return run_child_stage("throughput", {"processed": str(processed), "root": str(root)}, work, "throughput")


def bench_growth(root: Path, work: Path, factors: Sequence[int] = GROWTH_FACTORS) -> tuple[list[Measurement], dict]:
    """Scores and themes at each factor of the demonstration study; rows and fitted exponents."""
    base = yaml.safe_load((root / "config" / "simulation.yml").read_text(encoding="utf-8"))
    rows: list[Measurement] = []
    sizes: dict[str, list[tuple[float, float]]] = {"scores": [], "themes": []}
    for factor in factors:
        sub = work / f"x{factor}"
        sub.mkdir(parents=True, exist_ok=True)
        cfg = scale_simulation_config(base, factor)
        if cfg.get("phrases"):  # relative to the config file: make it absolute
            cfg["phrases"] = str((root / "config" / cfg["phrases"]).resolve())
        cfg_path = sub / "simulation.yml"
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        scenario = f"growth_x{factor}"
        sim = run_child_stage("simulate", {"config": str(cfg_path), "out": str(sub / "raw"),
                                           "truth": str(sub / "truth"), "root": str(root)}, sub, scenario)
        rows.append(sim)
        if sim.returncode != 0:
            break
        stage_rows = _run_stages(root, sub / "raw", sub / "processed", sub, scenario)
        rows += stage_rows
        for m in stage_rows:
            if m.stage in sizes and m.returncode == 0 and m.extra.get("size"):
                sizes[m.stage].append((float(m.extra["size"]), m.wall_s))
    exponents = {}
    for stage, pairs in sizes.items():
        if len(pairs) >= 2:
            exponents[stage] = round(fit_exponent([p[0] for p in pairs], [p[1] for p in pairs]), 3)
    return rows, exponents


def exponents_with_national(growth_rows: Sequence[Measurement], rows: Sequence[Measurement]) -> dict[str, dict]:
    """Exponents of ingest, scores and themes fitted over the growth points plus the national run.

    At demonstration sizes fixed costs (imports, figures) dominate and flatten the fit;
    the national point (about 16x larger again) shows how the work itself grows.
    Gives per stage ``fit`` (all points) and ``largest_two`` (16x to national).
    """
    out = {}
    for stage in ("ingest", "scores", "themes"):
        pairs = [(float(m.extra["size"]), m.wall_s) for m in [*growth_rows, *rows]
                 if m.stage == stage and m.returncode == 0 and m.extra.get("size")
                 and (m.scenario.startswith("growth_") or m.scenario == "national")]
        if len({p[0] for p in pairs}) >= 2 and any(m.scenario == "national" and m.stage == stage for m in rows):
            top = sorted(pairs)[-2:]
            out[stage] = {"fit": round(fit_exponent([p[0] for p in pairs], [p[1] for p in pairs]), 3),
                          "largest_two": round(fit_exponent([p[0] for p in top], [p[1] for p in top]), 3)}
    return out


# --------------------------------------------------------------------------- child stages


def _child_simulate(args: dict[str, Any]) -> dict[str, Any]:
    from pcnstudy.simulate.twin import simulate_command

    code = simulate_command(config=Path(args["config"]), out=Path(args["out"]), truth=Path(args["truth"]),
                            seed=None)
    if code:
        raise SystemExit(code)
    n_files = sum(1 for p in Path(args["out"]).rglob("*") if p.is_file())
    return {"files": n_files}


def _child_ingest(args: dict[str, Any]) -> dict[str, Any]:
    from pcnstudy.ingest.stage import ingest_study

    raw = Path(args["raw"])
    cohorts = sorted(p.parent.name for p in raw.glob("*/cohort.yml"))
    processed = Path(args["processed"])
    ingest_study(raw=raw, out=processed, cohorts=cohorts)
    tables = {name: _rows(processed / f"{name}.parquet") for name in ("respondents", "ratings", "feedback", "texts")}
    return {"size": sum(tables.values()), "rows": tables}


def _stage_params(args: dict[str, Any]) -> dict[str, Any]:
    """params.yaml of the project, with ``cohorts`` cleared: the bench study's cohorts all count."""
    from pcnstudy.core.params import load_params

    params = load_params(Path(args["root"]) / "params.yaml")
    params["cohorts"] = []
    return params


def _child_scores(args: dict[str, Any]) -> dict[str, Any]:
    from pcnstudy.scores.stage import run_scores_stage

    processed = Path(args["processed"])
    run_scores_stage(processed, processed / "results", processed.parent / "figures", _stage_params(args))
    return {"size": _rows(processed / "ratings.parquet")}


def _child_themes(args: dict[str, Any]) -> dict[str, Any]:
    from pcnstudy.themes.stage import run_themes_stage

    processed = Path(args["processed"])
    run_themes_stage(processed, processed / "results", processed.parent / "figures", _stage_params(args),
                     Path(args["root"]) / "config" / "codebook.yml")
    return {"size": _rows(processed / "texts.parquet")}


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _child_throughput(args: dict[str, Any]) -> dict[str, Any]:
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
    import resource

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


# --------------------------------------------------------------------------- report


def budgets_status(rows: Sequence[Measurement], throughput: dict[str, Any] | None) -> dict[str, Any]:
    """Each budget with its goal, the figure reached, and met / missed / not measured."""
    def total(scenario: str) -> Measurement | None:
        for m in rows:
            if m.scenario == scenario and m.stage == "total":
                return m
        return None

    national = [m for m in rows if m.scenario == "national" and m.stage in ("ingest", "scores", "themes")]
    national_ok = len(national) == 3 and all(m.returncode == 0 for m in national)
    reached = {
        "cold_total_s": total("cold").wall_s if total("cold") and total("cold").returncode == 0 else None,
        "noop_total_s": total("noop").wall_s if total("noop") and total("noop").returncode == 0 else None,
        "national_total_s": round(sum(m.wall_s for m in national), 3) if national_ok else None,
        "national_peak_rss_mib": max(m.peak_rss_mib for m in national) if national_ok else None,
        "theme_vs_gensim_ratio": (throughput or {}).get("ratio"),
    }
    out = {}
    for key, goal in BUDGETS.items():
        got = reached[key]
        if got is None:
            status = "not measured"
        elif key == "theme_vs_gensim_ratio":
            status = "met" if got >= goal else "missed"
        else:
            status = "met" if got <= goal else "missed"
        out[key] = {"goal": goal, "reached": got, "status": status}
    return out


def format_table(rows: Sequence[Measurement]) -> str:
    """A plain-text table: scenario, stage, seconds, peak MiB, status."""
    header = f"{'scenario':<14} {'stage':<12} {'wall s':>9} {'peak MiB':>9}  status"
    lines = [header, "-" * len(header)]
    for m in rows:
        status = "ok" if m.returncode == 0 else f"failed ({m.returncode})"
        lines.append(f"{m.scenario:<14} {m.stage:<12} {m.wall_s:>9.2f} {m.peak_rss_mib:>9.1f}  {status}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: Path) -> Path:
    """Write the benchmark report as sorted, indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


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
        if {"cold", "noop", "incremental"} & set(scenarios):
            (work / "dvc").mkdir(parents=True, exist_ok=True)
            rows += bench_dvc(root, work / "dvc")
        processed = None
        if "national" in scenarios or "throughput" in scenarios:
            (work / "national").mkdir(parents=True, exist_ok=True)
            national_rows, processed = bench_national(root, work / "national", national_config)
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
        print(f"\ntheme model {t['theme_docs_per_s']:.0f} docs/s, gensim LdaModel {t['gensim_docs_per_s']:.0f} "
              f"docs/s: ratio {t['ratio']:.2f} ({t['n_docs']} docs, {t['n_topics']} topics)")
    if report.get("growth_exponents"):
        print("growth exponents: " + ", ".join(f"{k} {v:.2f}" for k, v in report["growth_exponents"].items()))
    print("\nbudgets:")
    for key, b in report["budgets"].items():
        print(f"  {key:<24} goal {b['goal']:>8}  reached {b['reached']!s:>10}  {b['status']}")
    path = write_report(report, Path(out) if out else paths.REPORTS / "bench.json")
    print(f"\nwrote {path}")
    failed = [r for r in rows if r.returncode != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
