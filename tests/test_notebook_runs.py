"""The stage notebooks as people open them: thin, one parameters cell, and runnable from notebooks/.

The slow test executes each stage notebook with nbclient, the kernel started in
``<built copy>/notebooks`` (as Jupyter starts it) and ``PCNSTUDY_ROOT`` unset, so the
project root is found from the working directory (``pcnstudy.core.paths.find_root``);
every file the stage writes must exist afterwards with the bytes ``dvc repro`` gave it.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from conftest import ROOT
from pcnstudy.core.workspace import pinned_environment

STAGE_NOTEBOOKS = {"ingest": "01_ingest", "scores": "02_scores", "themes": "03_themes"}
FORBIDDEN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def code_cells(name: str, root: Path = ROOT) -> list:
    book = nbformat.read(root / "notebooks" / f"{name}.ipynb", as_version=4)
    return [cell for cell in book.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", sorted(STAGE_NOTEBOOKS.values()))
def test_a_notebook_defines_nothing(name):
    for cell in code_cells(name):
        tree = ast.parse(cell.source)
        found = [type(node).__name__ for node in ast.walk(tree) if isinstance(node, FORBIDDEN)]
        assert not found, f"{name}: a code cell defines {found} (logic belongs in src/pcnstudy):\n{cell.source}"
        loops = [node for node in ast.walk(tree) if isinstance(node, (ast.For, ast.While))]
        assert not loops, f"{name}: a code cell loops (logic belongs in src/pcnstudy):\n{cell.source}"


@pytest.mark.parametrize("name", sorted(STAGE_NOTEBOOKS.values()))
def test_the_parameters_cell_comes_first_and_says_what_none_means(name):
    first = code_cells(name)[0]
    assert "parameters" in first.metadata.get("tags", [])
    assignments = [node for node in ast.parse(first.source).body]
    assert assignments and all(isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                               and node.value.value is None for node in assignments)
    comment = [line for line in first.source.splitlines() if line.startswith("#")]
    assert any("params.yaml" in line for line in comment) and any("inject" in line for line in comment)
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code_cells(name)) == 1


@pytest.mark.parametrize("name", sorted(STAGE_NOTEBOOKS.values()))
def test_notebooks_are_committed_without_outputs(name):
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells(name))


def stage_outputs(root: Path, stage: str) -> list[Path]:
    """The files a stage writes (dvc.yaml's outs, folders expanded), reports left out."""
    outs = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]["outs"]
    names = [next(iter(out)) if isinstance(out, dict) else out for out in outs]
    files: list[Path] = []
    for name in names:
        path = root / name
        if name.startswith("reports/"):
            continue
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return files


def md5s(files: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.md5(p.read_bytes()).hexdigest() if p.is_file() else "missing" for p in files}


@pytest.mark.slow
@pytest.mark.parametrize("stage", sorted(STAGE_NOTEBOOKS))
def test_a_stage_notebook_runs_from_the_notebooks_folder(built_project, stage, monkeypatch):
    name = STAGE_NOTEBOOKS[stage]
    files = stage_outputs(built_project, stage)
    before = md5s(files)
    assert files and "missing" not in before.values()
    for key, value in pinned_environment(built_project).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PCNSTUDY_ROOT", raising=False)  # the root comes from the working directory
    monkeypatch.delenv("PCNSTUDY_PSEUDONYM_KEY", raising=False)  # as dvc repro ran it
    book = nbformat.read(built_project / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(book, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(built_project / "notebooks")}})
    client.execute()  # raises CellExecutionError naming the cell when one fails
    errors = [out for cell in book.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    shown = nbformat.writes(book)
    assert str(built_project) not in shown, f"{name} shows an absolute path: the executed report would differ per checkout"
    assert md5s(files) == before, f"{name} run from notebooks/ wrote different bytes"
