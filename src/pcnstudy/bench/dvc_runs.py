"""The demonstration study under ``dvc repro``: scenarios cold, noop and incremental.

Takes the project root and a work folder; copies the project there
(``pcnstudy.verify.project_copy.copy_project``, DVC cache removed), then measures a
cold ``dvc repro``, a no-op one, and one after touching a notebook (``touch_notebook``:
a space appended to its first markdown cell). Per-stage figures come from watching
dvc's process tree; ``stage_keys_from_dvc`` gives the string that identifies each
stage's command line. Gives ``Measurement`` rows.

Scenario ``floor`` (``bench_floor``), run beside ``cold``: the unavoidable cost of a
notebook stage and of the paper. In another fresh copy, each stage notebook is cut
after its imports cell (``trim_notebook``: the parameters and import cells stay, the
rest goes) and run by the very command dvc.yaml gives its stage (``notebook_commands``:
``pcnstudy notebook NAME -p ...`` with params.yaml's values put in, so papermill, the
kernel start and nbconvert are all charged); then a one-paragraph document with the
paper's front matter, bibliography, style and ``_quarto.yml`` (``one_paragraph_paper``)
is rendered to params.yaml's formats by ``pcnstudy.paper.render.render`` in a fresh
Python process. ``cold / floor`` (``report.cold_over_floor``) is what the study's own
work adds on top of that floor.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

from pcnstudy.bench.measure import Measurement, log_tail, run_measured, say
from pcnstudy.core.params import load_params, lookup
from pcnstudy.verify.project_copy import copy_project

DVC_SCENARIOS = ("cold", "noop", "incremental")
FLOOR_NOTEBOOKS = ("01_ingest", "02_scores", "03_themes")
# What the one-paragraph paper keeps of paper/ besides its front matter.
FLOOR_PAPER_FILES = ("_quarto.yml", "references.bib", "vancouver.csl", "style.css")
FLOOR_PARAGRAPH = (
    "This one-paragraph document goes through the paper's render path with the paper's "
    "front matter, bibliography, style and formats, and nothing else: what rendering "
    "costs before the paper has any content.\n"
)
# Render in a fresh interpreter, as the paper stage's own process does: argv is the
# paper folder and the comma-separated formats.
RENDER_SNIPPET = (
    "import sys; from pathlib import Path; from pcnstudy.paper.render import render; "
    "render(Path(sys.argv[1]), sys.argv[2].split(','), epoch=0)"
)
_PLACEHOLDER = re.compile(r"\$\{\s*([A-Za-z0-9_.]+)\s*\}")


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


def bench_dvc(root: Path, work: Path, touch: str | None = None,
              scenarios: Iterable[str] = DVC_SCENARIOS) -> list[Measurement]:
    """Scenarios cold and, when asked, noop and incremental in a fresh copy of ``root`` under ``work``.

    Cold always runs (the other two need its built copy); noop and incremental only
    when ``scenarios`` names them.
    """
    scenarios = set(scenarios)
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
    if not {"noop", "incremental"} & scenarios:
        return rows
    say("no-op dvc repro")
    whole, stages = run_measured([_dvc(), "repro"], cwd=copy_root, env=env, stage_keys=keys,
                                 log=work / "noop.log")
    if "noop" in scenarios:
        rows += _tag("noop", whole, stages)
    if "incremental" not in scenarios:
        return rows
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


def imports_cell(cells: list[dict[str, Any]]) -> int:
    """Index of the imports cell: the first code cell with an ``import`` statement."""
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: not plain Python, so not the imports cell
            continue
        if any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body):
            return i
    raise ValueError("no code cell imports anything")


def trim_notebook(path: Path) -> int:
    """Keep a notebook's cells up to and including its imports cell; return how many were dropped.

    What stays is the notebook's floor: its title, the parameters cell and the imports
    (with whatever else that cell does); outputs are cleared, as committed notebooks are.
    """
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    try:
        keep = imports_cell(nb.get("cells", [])) + 1
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    dropped = len(nb["cells"]) - keep
    nb["cells"] = nb["cells"][:keep]
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return dropped


def interpolate(cmd: str, params: dict[str, Any]) -> str:
    """Put params.yaml's values into a dvc.yaml command, as DVC does (``${scores.alpha}`` -> ``0.05``)."""
    def value(match: re.Match[str]) -> str:
        got = lookup(params, match.group(1))
        if isinstance(got, (dict, list)):
            raise ValueError(f"${{{match.group(1)}}}: DVC cannot put a {type(got).__name__} into a command")
        if isinstance(got, bool):
            return "true" if got else "false"
        return "null" if got is None else str(got)
    return _PLACEHOLDER.sub(value, cmd)


def notebook_commands(dvc_yaml: Path, params_yaml: Path,
                      notebooks: Iterable[str] = FLOOR_NOTEBOOKS) -> dict[str, list[str]]:
    """The argv dvc.yaml runs for each stage that runs one of ``notebooks``: {stage: argv}."""
    stages = (yaml.safe_load(Path(dvc_yaml).read_text(encoding="utf-8")) or {}).get("stages") or {}
    params = load_params(Path(params_yaml))
    found: dict[str, list[str]] = {}
    for name, spec in stages.items():
        argv = shlex.split(interpolate(" ".join(str(spec.get("cmd", "")).split()), params))
        if len(argv) >= 3 and argv[1] == "notebook" and argv[2] in notebooks:
            found[name] = argv
    missing = sorted(set(notebooks) - {argv[2] for argv in found.values()})
    if missing:
        raise ValueError(f"{dvc_yaml}: no stage runs notebook(s) {', '.join(missing)}")
    return found


def one_paragraph_paper(paper_dir: Path, dest: Path) -> Path:
    """A paper folder holding ``paper_dir``'s front matter and files with one paragraph of text."""
    paper_dir, dest = Path(paper_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    text = (paper_dir / "index.qmd").read_text(encoding="utf-8")
    parts = text.split("---\n", 2)
    if not text.startswith("---\n") or len(parts) < 3:
        raise ValueError(f"{paper_dir / 'index.qmd'}: no front matter")
    (dest / "index.qmd").write_text(f"---\n{parts[1]}---\n\n{FLOOR_PARAGRAPH}", encoding="utf-8")
    for name in FLOOR_PAPER_FILES:
        if (paper_dir / name).is_file():
            shutil.copy2(paper_dir / name, dest / name)
    (dest / "_study.yml").write_text("floor: true\n", encoding="utf-8")  # _quarto.yml reads it
    return dest


def _resolve(argv: list[str]) -> list[str]:
    candidate = venv_bin() / argv[0]
    return [str(candidate), *argv[1:]] if candidate.exists() else argv


def bench_floor(root: Path, work: Path) -> list[Measurement]:
    """Scenario floor: the trimmed stage notebooks and a one-paragraph paper, each measured."""
    copy_root = copy_project(work / "project", root)
    env = pipeline_env(copy_root)
    commands = notebook_commands(copy_root / "dvc.yaml", copy_root / "params.yaml")
    rows: list[Measurement] = []
    for stage, argv in commands.items():
        dropped = trim_notebook(copy_root / "notebooks" / f"{argv[2]}.ipynb")
        say(f"floor: {stage} ({argv[2]} cut after its imports, {dropped} cells dropped)")
        whole, _ = run_measured(_resolve(argv), cwd=copy_root, env=env, log=work / f"floor-{stage}.log")
        whole.scenario, whole.stage = "floor", stage
        whole.extra["cells_dropped"] = dropped
        if whole.returncode != 0:
            whole.extra["log"] = log_tail(work / f"floor-{stage}.log")
        rows.append(whole)
    paper = one_paragraph_paper(copy_root / "paper", work / "paper")
    formats = str(load_params(copy_root / "params.yaml").get("paper", {}).get("formats", "html,pdf"))
    say(f"floor: one-paragraph paper to {formats}")
    whole, _ = run_measured([sys.executable, "-c", RENDER_SNIPPET, str(paper), formats], cwd=copy_root,
                            env=env, log=work / "floor-paper.log")
    whole.scenario, whole.stage = "floor", "paper"
    if whole.returncode != 0:
        whole.extra["log"] = log_tail(work / "floor-paper.log")
    rows.append(whole)
    rows.append(Measurement("floor", "total", round(sum(m.wall_s for m in rows), 3),
                            max(m.peak_rss_mib for m in rows), max(abs(m.returncode) for m in rows)))
    return rows
