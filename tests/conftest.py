"""Shared fixtures: the repository root and a helper to copy it for pipeline runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def copy_repository(dest: Path, root: Path = ROOT) -> Path:
    """Copy the working tree's source files (no generated outputs) into a fresh git repo."""
    from pcnstudy.verify.project_copy import copy_project

    return copy_project(dest, root)


def copy_built(src: Path, dest: Path) -> Path:
    """Copy a built copy of the repository (sources, outputs, git and DVC cache) to ``dest``:
    ``dvc repro`` there reruns nothing until something changes. DVC's own state (.dvc/tmp)
    is left behind; DVC rebuilds it."""
    import shutil

    shutil.copytree(src, dest, symlinks=True, ignore=lambda d, names: ["tmp"] if Path(d).name == ".dvc" else [])
    return dest


def pipeline_env(root: Path) -> dict[str, str]:
    """Environment for running dvc and pcnstudy inside a copy of the repository."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PCNSTUDY_ROOT"] = str(root)
    env.pop("PCNSTUDY_PSEUDONYM_KEY", None)
    return env


def run_dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``dvc ARGS`` in ``root`` with the test environment; fail with DVC's output."""
    proc = subprocess.run([str(BIN / "dvc"), *args], cwd=root, env=pipeline_env(root),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """A temporary copy of the repository after one full ``dvc repro`` (built once per session)."""
    root = copy_repository(tmp_path_factory.mktemp("pipeline") / "repo")
    run_dvc(root, "repro")
    return root
