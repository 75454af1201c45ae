"""Fresh copies of the project for clean re-runs (``pcnstudy verify``, the benchmark, the tests).

Takes a project root (default the running project's); gives the source files git
tracks or would add (``project_files``: never generated outputs, caches or the
virtual environment) and a copy of them in ``dest`` as a git repository
(``copy_project``), so ``dvc repro`` there rebuilds everything from data/raw. A clean
checkout is cloned to the very same commit; uncommitted changes are committed in the
copy with a fixed author and date (``FIXED_GIT_DATE``), so two copies of one working
tree are identical.
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
