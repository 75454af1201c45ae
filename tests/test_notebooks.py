"""The stage-notebook runner: parameters from the command line, volatile metadata removed,
a quiet kernel and a one-line summary; ``make lab`` for running notebooks by hand."""
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pcnstudy.core.notebooks import (
    StageKernelManager,
    ipc_kernel_config,
    notebook_command,
    parse_param_pairs,
    strip_volatile,
)

ROOT = Path(__file__).resolve().parents[1]


def test_parse_param_pairs_reads_values_as_yaml():
    got = parse_param_pairs(["alpha=0.05", "free_topics=auto", "formats=[html, pdf]", "n=3", "empty="])
    assert got == {"alpha": 0.05, "free_topics": "auto", "formats": ["html", "pdf"], "n": 3, "empty": ""}


def test_parse_param_pairs_rejects_a_bare_word():
    with pytest.raises(ValueError, match="not key=value"):
        parse_param_pairs(["alpha"])


def test_strip_volatile_removes_timings_but_keeps_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.metadata["papermill"] = {"duration": 0.1, "start_time": "2026-01-01"}
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01"}
    cell.metadata["tags"] = ["parameters"]
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells.append(cell)
    nb.metadata["papermill"] = {"start_time": "now"}
    strip_volatile(nb)
    assert "papermill" not in nb.metadata
    assert set(nb.cells[0].metadata) == {"tags"}
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "2"


def test_strip_volatile_fixes_the_injected_cells_random_id():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("alpha = 0.1")
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.append(cell)
    other = nbformat.v4.new_code_cell("x = 1")
    original_id = other["id"]
    nb.cells.append(other)
    strip_volatile(nb)
    assert nb.cells[0]["id"] == "injected-parameters"
    assert nb.cells[1]["id"] == original_id


def test_a_failing_notebook_is_one_line_naming_cell_and_error(tmp_path, capsys):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("path = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise ValueError(f'{path}:3:Q1: not on the scale')")]
    nbformat.write(nb, tmp_path / "notebooks" / "fails.ipynb")
    assert notebook_command("fails", {"path": "data/raw/c/end.csv"}, root=tmp_path) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    # [3]: the parameters cell, papermill's injected cell, then the failing one, as In [3] in the notebook
    assert "cell [3] raised ValueError: data/raw/c/end.csv:3:Q1: not on the scale" in err[0]
    assert "reports/fails.ipynb" in err[0] and (tmp_path / "reports" / "fails.ipynb").is_file()
    assert notebook_command("absent", {}, root=tmp_path) == 2


def tiny_project(root, name="tiny", code="print('done', x)"):
    """A project root holding one notebook: a parameters cell and one code cell."""
    (root / "dvc.yaml").write_text("stages: {}\n")
    (root / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("x = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
    return root


def test_ipc_kernel_config_names_absolute_sockets(tmp_path):
    config = ipc_kernel_config(tmp_path)
    assert config.KernelManager.transport == "ipc"
    assert config.KernelManager.ip == str(tmp_path.resolve() / "kernel")


def test_the_stage_kernel_is_not_interrupted_on_its_way_down():
    """Shutting down, no SIGINT (it made the kernel log KeyboardInterrupt); otherwise as before."""
    km = StageKernelManager(kernel_name="python3")
    km.shutting_down = True
    assert asyncio.run(km._async_interrupt_kernel()) is None
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(km._async_interrupt_kernel())


def test_a_notebook_runs_quietly_and_says_what_it_did(tmp_path):
    """No kernel transport warning (nor anything else) on stderr; one summary line on stdout.

    Run from notebooks/, as a user might: the kernel's sockets are found all the same.
    """
    root = tiny_project(tmp_path)
    env = dict(os.environ, PCNSTUDY_ROOT=str(root))
    run = subprocess.run([sys.executable, "-m", "pcnstudy", "notebook", "tiny", "-p", "x=3"],
                         cwd=root / "notebooks", env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "without encryption" not in run.stderr and "WARNING" not in run.stderr
    assert run.stderr.strip() == ""
    assert run.stdout.strip().splitlines() == ["tiny: ran notebooks/tiny.ipynb -> reports/tiny.html"]
    executed = nbformat.read(root / "reports" / "tiny.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "done 3\n"
    assert (root / "reports" / "tiny.html").is_file()
    assert not list(root.rglob("kernel-*")), "no kernel socket or connection file left in the project"


def test_make_lab_runs_jupyter_lab_from_the_venv_at_the_project_root():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: \$\(STAMP\)$", makefile, re.M), "lab sets up .venv with the stamp repro uses"
    assert re.search(r"^\.PHONY:.*\blab\b", makefile, re.M)
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    dry = subprocess.run([make, "-n", "--no-print-directory", "lab", "LAB_ARGS=--no-browser"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    command = dry.stdout.strip().splitlines()[-1]
    assert ".venv/bin/jupyter lab" in command
    assert f'PATH="{ROOT}/.venv/bin:$PATH"' in command  # the kernel's "python" is the venv's
    assert f'--ServerApp.root_dir="{ROOT}"' in command and f'PCNSTUDY_ROOT="{ROOT}"' in command
    assert command.endswith("--no-browser")
    for line in ("repro: $(STAMP)", '\tPATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro',
                 "test: $(STAMP)", '\tPATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest'):
        assert line in makefile.splitlines(), line
