"""The environment every stage runs in, and the source commit the paper is stamped with.

Takes a project root (default the running project's) and its git history; gives
``pinned_environment()``, the process environment that removes the run-to-run
differences a machine can introduce (thread counts, hash seeds, locale, time zone and
the render date), ``source_date_epoch()`` (the render date) and ``source_commit()``
(the last commit that changed what the pipeline is built from). Copies of the project
for clean re-runs belong to ``pcnstudy verify``, not to the core.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pcnstudy.core import paths

# What the pipeline is built from: a commit touching only docs, tests or dvc.lock
# leaves the paper's stamp, and so every output's hash, unchanged.
#: What the pipeline is built from: its inputs and config, the package's folders its stages
#: depend on in dvc.yaml (not the benchmark or verify; of the simulator only the in-memory
#: generator the twin check's coverage study draws from), the notebooks, the manuscript and
#: the pipeline's own declarations.
SOURCE_PATHSPEC = ("data/raw", "data/simulation_truth", "config", "src/pcnstudy/__init__.py", "src/pcnstudy/cli.py", "src/pcnstudy/core",
                   "src/pcnstudy/ingest", "src/pcnstudy/scores", "src/pcnstudy/themes", "src/pcnstudy/paper",
                   "src/pcnstudy/twin", "src/pcnstudy/simulate/__init__.py", "src/pcnstudy/simulate/config.py",
                   "src/pcnstudy/simulate/ratings.py", "src/pcnstudy/simulate/text.py", "src/pcnstudy/simulate/truth.py",
                   "notebooks", "paper", "params.yaml", "dvc.yaml")


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
