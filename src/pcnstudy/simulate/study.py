"""The whole simulated study on disk, and the ``pcnstudy simulate`` command.

Takes the loaded simulation config, the output folders and a seed; writes every
cohort's folder under ``out`` (``cohort_files.simulate_cohort``, one random stream per
cohort) and the generating truth under ``truth``: ``effects.json``,
``text_themes.csv`` and ``pii.csv`` (columns ``TEXT_THEMES_COLUMNS`` and
``PII_COLUMNS``). ``simulate_command`` is the command line's entry: 0 when written,
1 when the config is bad, 2 when no seed is known.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pcnstudy.core.progress import progress

from pcnstudy.core import paths
from pcnstudy.core.params import load_params
from pcnstudy.simulate.cohort_files import simulate_cohort
from pcnstudy.simulate.config import SimulationConfigError, cohort_rng, cohort_spec, load_config, load_instrument

TEXT_THEMES_COLUMNS = ["response_id", "cohort", "wave", "file", "row", "question", "themes"]
PII_COLUMNS = ["cohort", "file", "row", "column", "text_response_id", "kind", "string"]


def simulate_study(config: dict[str, Any], out: Path, truth: Path, seed: int, instrument: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write every cohort of ``config`` under ``out`` and the generating truth under ``truth``."""
    instrument = instrument or load_instrument()
    phrases = config["_phrases"]
    stamp = pd.Timestamp(config.get("fixed_timestamp", "2024-01-01T00:00:00")).to_pydatetime()
    out, truth = Path(out), Path(truth)
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    effects: dict[str, Any] = {}
    themes: list[dict[str, Any]] = []
    pii: list[dict[str, Any]] = []
    for cohort in progress(sorted(config["cohorts"]), desc="simulate", unit="cohort"):
        spec = cohort_spec(cohort, config)
        result = simulate_cohort(spec, cohort_rng(seed, cohort), out, phrases, instrument, stamp)
        effects[cohort] = result["truth"]
        themes += result["themes"]
        pii += result["pii"]
    effects = {"seed": int(seed), "cohorts": effects}
    (truth / "effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    theme_frame = pd.DataFrame(themes, columns=TEXT_THEMES_COLUMNS).sort_values(["cohort", "file", "row", "question"], kind="stable")
    theme_frame.to_csv(truth / "text_themes.csv", index=False, lineterminator="\n")
    pii_frame = pd.DataFrame(pii, columns=PII_COLUMNS).sort_values(["cohort", "file", "row", "column", "string"], kind="stable")
    pii_frame.to_csv(truth / "pii.csv", index=False, lineterminator="\n")
    return effects


def simulate_command(config: Path | None = None, out: Path | None = None, truth: Path | None = None, seed: int | None = None) -> int:
    """``pcnstudy simulate``: 0 when written, 1 when the config is bad, 2 when no seed is known."""
    config_path = Path(config) if config else paths.CONFIG / "simulation.yml"
    if seed is None:
        seed = (load_params().get("simulate") or {}).get("seed")
        if seed is None:
            print("simulate: no --seed given and params.yaml has no simulate.seed", file=sys.stderr)
            return 2
    try:
        loaded = load_config(config_path)
        effects = simulate_study(loaded, Path(out or paths.RAW), Path(truth or paths.TRUTH), int(seed))
    except FileNotFoundError as exc:
        print(f"simulate: {exc.filename}: no such file", file=sys.stderr)
        return 1
    except (SimulationConfigError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        print(f"simulate: {config_path}: {what}", file=sys.stderr)
        return 1
    for cohort, entry in effects["cohorts"].items():
        sizes = ", ".join(f"{w} {n}" for w, n in entry["sizes"].items())
        print(f"{cohort}: {sizes}")
    return 0
