"""Copies of the project for clean re-runs, and the environment every stage runs in.

``copy_project(dest)`` copies the project's source files (what git tracks or would
add; never generated outputs, caches or the virtual environment) into ``dest`` as a
fresh git repository, so ``dvc repro`` there rebuilds everything from data/raw.
``pinned_environment()`` is the process environment that removes the run-to-run
differences a machine can introduce: thread counts, hash seeds, locale, time zone and
the render date.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pcnstudy.core import paths

FIXED_GIT_DATE = "2026-01-01T00:00:00Z"


def project_files(root: Path | None = None) -> list[str]:
    """Relative paths of the files git tracks or would add in ``root`` (sorted)."""
    root = Path(root or paths.ROOT)
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    return sorted(f for f in out.split("\0") if f and (root / f).is_file())


def copy_project(dest: Path, root: Path | None = None) -> Path:
    """Clone the project into ``dest``, bring over uncommitted source changes, return ``dest``.

    A clean checkout clones to the very same commit, so a re-run stamps the paper with
    the same source commit; uncommitted changes are committed in the copy with a fixed
    date, so two copies of the same working tree are identical too.
    """
    root = Path(root or paths.ROOT)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    has_head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True).returncode == 0
    if has_head:
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(root), str(dest)], check=True, capture_output=True)
    else:
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q"], cwd=dest, check=True, capture_output=True)
    for rel in project_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    env = {**os.environ, "GIT_AUTHOR_NAME": "pcnstudy", "GIT_AUTHOR_EMAIL": "verify@pcnstudy.invalid",
           "GIT_COMMITTER_NAME": "pcnstudy", "GIT_COMMITTER_EMAIL": "verify@pcnstudy.invalid",
           "GIT_AUTHOR_DATE": FIXED_GIT_DATE, "GIT_COMMITTER_DATE": FIXED_GIT_DATE}
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True, env=env, capture_output=True)
    staged = subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=dest, env=env, capture_output=True)
    if staged.returncode != 0 or not has_head:
        subprocess.run(["git", "commit", "-qm", "uncommitted changes"], cwd=dest, check=True, env=env,
                       capture_output=True)
    return dest


# What the pipeline is built from: a commit touching only docs, tests or dvc.lock
# leaves the paper's stamp, and so every output's hash, unchanged.
SOURCE_PATHSPEC = ("data/raw", "config", "src", "notebooks", "paper", "params.yaml", "dvc.yaml")


def source_commit(root: Path | None = None, fmt: str = "%H") -> str | None:
    """The last commit that changed what the pipeline is built from, in ``fmt``.

    Committing a refreshed dvc.lock (or docs, or tests) does not change it, so the
    paper that records dvc.lock's hashes can name its source commit without chasing
    its own tail.
    """
    proc = subprocess.run(["git", "-C", str(Path(root or paths.ROOT)), "log", "-1", f"--format={fmt}", "--",
                           *SOURCE_PATHSPEC], capture_output=True, text=True)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def source_date_epoch(root: Path | None = None) -> str:
    """The render date: ``SOURCE_DATE_EPOCH`` if set, else the source commit's time, else 0."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    value = source_commit(root, "%ct") or ""
    return value if value.isdigit() else "0"


def pinned_environment(root: Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``base`` (default os.environ) with threads, hashing, locale, zone and date pinned."""
    env = dict(os.environ if base is None else base)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["TZ"] = "UTC"
    env["LC_ALL"] = "C.UTF-8"
    env["LANG"] = "C.UTF-8"
    env["SOURCE_DATE_EPOCH"] = source_date_epoch(root)
    env["MPLBACKEND"] = "Agg"
    return env
