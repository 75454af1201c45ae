"""``pcnstudy verify``: does a clean re-run reproduce every output recorded in dvc.lock?

Two checks, one table:

1. **workspace**: the outputs present in this checkout still hash to what dvc.lock
   records (a hand-edited or corrupted processed file is caught here);
2. **rerun**: the whole pipeline is re-run from data/raw in a temporary copy
   (``dvc repro --force``, environment pinned as in the stages) and every output's
   hash is compared with the committed dvc.lock.

The table has one row per stage and output: stage, output, check, expected, got, and
``same`` or ``different``. For a differing table (CSV or parquet) the first differing
rows are shown. ``--tolerant`` compares differing tables numerically (relative
tolerance 1e-9) and images perceptually (mean absolute pixel difference below 1% and
no pixel off by more than a quarter of the range), for platforms whose floating-point
libraries differ from the pinned environment's. Exit 0 only when everything matches.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib import image

from pcnstudy.core import paths
from pcnstudy.core.workspace import pinned_environment
from pcnstudy.verify.project_copy import copy_project

RTOL = 1e-9
TABLE_SUFFIXES = {".csv", ".parquet"}
IMAGE_SUFFIXES = {".png"}


@dataclass
class Comparison:
    stage: str
    output: str
    check: str
    expected: str
    got: str
    same: bool
    detail: str = ""


def lock_outputs(lock_path: Path) -> dict[tuple[str, str], str]:
    """Map (stage, output path) to the md5 that dvc.lock records for it."""
    lock = yaml.safe_load(Path(lock_path).read_text(encoding="utf-8")) or {}
    found = {}
    for stage, info in (lock.get("stages") or {}).items():
        for out in info.get("outs", []) or []:
            found[(stage, out["path"])] = out.get("md5", "")
    return found


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_binary() -> str:
    candidate = Path(sys.executable).parent / "dvc"
    return str(candidate) if candidate.exists() else "dvc"


def modified_in_workspace(root: Path) -> set[str]:
    """Output paths that ``dvc status`` reports as changed in ``root``."""
    proc = subprocess.run([dvc_binary(), "status", "--json"], cwd=root, capture_output=True, text=True,
                          env=pinned_environment(root))
    if proc.returncode != 0:
        raise RuntimeError(f"dvc status failed in {root}: {proc.stderr.strip()}")
    changed = set()
    for entries in (json.loads(proc.stdout or "{}") or {}).values():
        for entry in entries:
            if isinstance(entry, dict):
                for path in (entry.get("changed outs") or {}):
                    changed.add(path)
    return changed


def cached_copy(root: Path, md5: str) -> Path | None:
    """The DVC cache's copy of a file with this md5, if any."""
    path = root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    return path if path.is_file() else None


def _read_table(path: Path):
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=False)


def first_differing_rows(expected: Path, got: Path, limit: int = 3) -> str:
    """Describe the first rows where two tables differ."""
    a, b = _read_table(expected), _read_table(got)
    if list(a.columns) != list(b.columns):
        return f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    if len(a) != len(b):
        return f"row counts differ: {len(a)} vs {len(b)}"
    diff = (a.astype(str) != b.astype(str)).any(axis=1)
    rows = list(diff[diff].index[:limit])
    lines = []
    for i in rows:
        cols = [c for c in a.columns if str(a.at[i, c]) != str(b.at[i, c])]
        shown = ", ".join(f"{c}: {a.at[i, c]!r} -> {b.at[i, c]!r}" for c in cols[:4])
        lines.append(f"row {i + 2}: {shown}")
    return "; ".join(lines)


def tables_close(expected: Path, got: Path, rtol: float = RTOL) -> bool:
    """True when two tables agree: numbers to ``rtol`` relative, everything else exactly."""
    a, b = _read_table(expected), _read_table(got)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for col in a.columns:
        x, y = a[col], b[col]
        if np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number):
            if not np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=rtol, atol=0, equal_nan=True):
                return False
        elif not (x.astype(str) == y.astype(str)).all():
            return False
    return True


def images_close(expected: Path, got: Path) -> bool:
    """Perceptual match: same size, mean absolute difference < 1%, no pixel off by > 25%."""
    a, b = image.imread(expected), image.imread(got)
    if a.shape != b.shape:
        return False
    delta = np.abs(a.astype(float) - b.astype(float))
    return float(delta.mean()) < 0.01 and float(delta.max()) <= 0.25


def compare_files(expected: Path | None, got: Path, tolerant: bool) -> tuple[bool, str]:
    """Compare a differing output's expected and new content; return (acceptable, detail)."""
    if expected is None:
        return False, "no expected copy available to compare contents"
    suffix = got.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        detail = first_differing_rows(expected, got)
        return (tolerant and tables_close(expected, got)), detail
    if suffix in IMAGE_SUFFIXES and tolerant:
        ok = images_close(expected, got)
        return ok, "images match perceptually" if ok else "images differ visibly"
    return False, ""


def compare_runs(root: Path, rerun: Path, tolerant: bool = False) -> list[Comparison]:
    """Compare the committed dvc.lock of ``root`` with the outputs of a re-run in ``rerun``."""
    expected = lock_outputs(root / "dvc.lock")
    got = lock_outputs(rerun / "dvc.lock")
    rows = []
    for (stage, out), md5 in sorted(expected.items()):
        new = got.get((stage, out), "")
        if new == md5:
            rows.append(Comparison(stage, out, "rerun", md5, new, True))
            continue
        same, detail = False, ""
        target = rerun / out
        if target.is_file():
            reference = root / out if (root / out).is_file() and file_md5(root / out) == md5 else cached_copy(root, md5)
            same, detail = compare_files(reference, target, tolerant)
        elif target.is_dir():
            differing = []
            for path in sorted(p for p in target.rglob("*") if p.is_file()):
                rel = path.relative_to(rerun)
                mine = root / rel
                if not mine.is_file() or file_md5(mine) != file_md5(path):
                    ok, _ = compare_files(mine if mine.is_file() else None, path, tolerant)
                    if not ok:
                        differing.append(str(rel))
            same = tolerant and not differing
            detail = "differing files: " + ", ".join(differing[:5]) if differing else ""
        rows.append(Comparison(stage, out, "rerun", md5, new or "(missing)", same, detail))
    return rows


def check_workspace(root: Path) -> list[Comparison]:
    """Rows for outputs in this checkout that no longer match dvc.lock."""
    expected = lock_outputs(root / "dvc.lock")
    changed = modified_in_workspace(root)
    rows = []
    for (stage, out), md5 in sorted(expected.items()):
        if out in changed:
            target = root / out
            got = file_md5(target) if target.is_file() else ("(missing)" if not target.exists() else "(changed)")
            rows.append(Comparison(stage, out, "workspace", md5, got, False, "differs from dvc.lock"))
    return rows


def print_table(rows: list[Comparison]) -> None:
    header = f"{'stage':<8} {'output':<46} {'check':<9} {'expected':<10} {'got':<10} result"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.stage:<8} {r.output:<46} {r.check:<9} {r.expected[:10]:<10} {r.got[:10]:<10} "
              f"{'same' if r.same else 'different'}")
        if r.detail and not r.same:
            print(f"{'':<8} {r.detail}")


def verify(root: Path | None = None, tolerant: bool = False, workdir: Path | None = None) -> list[Comparison]:
    """Run both checks and return their rows (workspace rows first)."""
    root = Path(root or paths.ROOT)
    if not (root / "dvc.lock").is_file():
        raise FileNotFoundError(f"{root / 'dvc.lock'} does not exist: run `dvc repro` and commit dvc.lock first")
    rows = check_workspace(root)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        copy = copy_project(Path(tmp) / "rerun", root)
        env = pinned_environment(copy)
        env["PCNSTUDY_ROOT"] = str(copy)
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        proc = subprocess.run([dvc_binary(), "repro", "--force"], cwd=copy, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"dvc repro failed in the clean copy:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        rows += compare_runs(root, copy, tolerant)
    return rows


def verify_command(tolerant: bool = False) -> int:
    """CLI: print the comparison table; 0 when all outputs match, 1 otherwise."""
    try:
        rows = verify(tolerant=tolerant)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print_table(rows)
    bad = [r for r in rows if not r.same]
    print(f"\n{len(rows) - len(bad)} same, {len(bad)} different")
    return 0 if not bad else 1
