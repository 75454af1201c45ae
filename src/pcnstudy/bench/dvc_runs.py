"""The demonstration study under ``dvc repro``: scenarios cold, noop and incremental.

Takes the project root and a work folder; copies the project there
(``pcnstudy.verify.project_copy.copy_project``, DVC cache removed), then measures a
cold ``dvc repro``, a no-op one, and one after touching a notebook (``touch_notebook``:
a space appended to its first markdown cell). Per-stage figures come from watching
dvc's process tree; ``stage_keys_from_dvc`` gives the string that identifies each
stage's command line. Gives ``Measurement`` rows.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import yaml

from pcnstudy.bench.measure import Measurement, log_tail, run_measured, say
from pcnstudy.verify.project_copy import copy_project


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


def bench_dvc(root: Path, work: Path, touch: str | None = None) -> list[Measurement]:
    """Scenarios cold, noop and incremental in a fresh copy of ``root`` under ``work``."""
    copy_root = copy_project(work / "project", root)
    for cache in (copy_root / ".dvc" / "cache", copy_root / ".dvc" / "tmp"):
        shutil.rmtree(cache, ignore_errors=True)
    env = pipeline_env(copy_root)
    keys = stage_keys_from_dvc(copy_root / "dvc.yaml")
    rows: list[Measurement] = []
    say("cold dvc repro of the demonstration study")
    whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                 log=work / "cold.log")
    rows += _tag("cold", whole, stages)
    if whole.returncode != 0:
        whole.extra["log"] = log_tail(work / "cold.log")
        return rows
    say("no-op dvc repro")
    whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                 log=work / "noop.log")
    rows += _tag("noop", whole, stages)
    notebook = copy_root / "notebooks" / f"{touch}.ipynb" if touch else _last_notebook(copy_root)
    if notebook and notebook.is_file():
        touch_notebook(notebook)
        say(f"incremental dvc repro after touching {notebook.name}")
        whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                     log=work / "incremental.log")
        whole.extra["touched"] = f"notebooks/{notebook.name}"
        rows += _tag("incremental", whole, stages)
    return rows


def _last_notebook(root: Path) -> Path | None:
    found = sorted((root / "notebooks").glob("*_themes.ipynb")) or sorted((root / "notebooks").glob("*.ipynb"))
    return found[-1] if found else None
