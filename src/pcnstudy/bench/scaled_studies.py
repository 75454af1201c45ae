"""The study at larger scales: national, growth, and the theme model's throughput.

Takes the project root, a work folder and a simulation config; simulates a study with
``pcnstudy simulate`` and runs ingest, scores and themes on it, each stage in its own
measured child process (``child_stages``). ``bench_national`` runs the national-scale
config, ``bench_throughput`` times the theme model against gensim on its texts, and
``bench_growth`` runs the demonstration study scaled 1x, 4x and 16x
(``scale_simulation_config``) and fits how time grows with size (``fit_exponent``;
``exponents_with_national`` adds the national point). Gives ``Measurement`` rows and
the fitted exponents.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import yaml

from pcnstudy.bench.child_stages import run_child_stage, run_child_stages
from pcnstudy.bench.measure import Measurement, say

GROWTH_FACTORS = (1, 4, 16)
NATIONAL_CONFIG = "simulation-national.yml"


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Least-squares slope of log(time) on log(size): time grows as size ** slope."""
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


def bench_national(root: Path, work: Path, config: Path | None = None,
                   stages: Sequence[str] = ("ingest", "scores", "themes")) -> tuple[list[Measurement], Path]:
    """Simulate the national study and run ``stages`` on it (default ingest, scores and themes);
    return rows, processed dir."""
    config = Path(config or root / "config" / NATIONAL_CONFIG)
    raw, truth, processed = work / "raw", work / "truth", work / "processed"
    rows = [run_child_stage("simulate", {"config": str(config), "out": str(raw), "truth": str(truth),
                                         "root": str(root)}, work, "national")]
    rows += run_child_stages(root, raw, processed, work, "national", stages=stages)
    return rows, processed


def bench_throughput(root: Path, processed: Path, work: Path) -> Measurement:
    """Theme model vs gensim LdaModel on the texts in ``processed`` (one child process)."""
    say("throughput: theme model vs gensim LdaModel")
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
        stage_rows = run_child_stages(root, sub / "raw", sub / "processed", sub, scenario)
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
