"""Measuring a command: wall time and peak memory of a process tree, stage by stage.

Takes a command line (and optionally, per stage, a string that identifies the stage's
processes); gives ``Measurement`` rows (scenario, stage, seconds, peak RSS in MiB,
exit code, extras) from ``run_measured``, which samples the resident memory of the
process and all its descendants while it runs. Also the description of the machine
(``machine_info``), the tail of a log (``log_tail``) and progress lines (``say``).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import psutil

MIB = 1024 * 1024
POLL_INTERVAL_S = 0.05


@dataclass
class Measurement:
    """One timed step: which scenario and stage, seconds, peak RSS (MiB), exit code."""

    scenario: str
    stage: str
    wall_s: float
    peak_rss_mib: float
    returncode: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _stage_of(cmdline: str, stage_keys: dict[str, str]) -> str | None:
    for stage, key in stage_keys.items():
        if key and key in cmdline:
            return stage
    return None


def run_measured(
    cmd: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stage_keys: dict[str, str] | None = None,
    interval: float = POLL_INTERVAL_S,
    log: Path | None = None,
) -> tuple[Measurement, dict[str, Measurement]]:
    """Run ``cmd`` and measure it; return (the whole run, per-stage measurements).

    Memory is the sum of the RSS of the process and all its descendants, sampled every
    ``interval`` seconds (so a stage's peak is that of its own command plus anything it
    starts, such as a Jupyter kernel). A descendant belongs to stage ``s`` when its
    command line contains ``stage_keys[s]``, or its parent belongs to ``s``. A stage's
    wall time runs from the first to the last sample that saw one of its processes.
    The whole run's peak also takes the largest single child's ``ru_maxrss`` (exact,
    catches short spikes between samples). Output goes to ``log`` (or is discarded).
    """
    stage_keys = stage_keys or {}
    sink = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        owner: dict[int, str | None] = {}
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        peak_stage: dict[str, float] = {}
        peak_total = 0.0
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            root = None
        while True:
            status = _wait4_nohang(proc.pid)
            if status is not None:
                code, maxrss_kib = status
                break
            if root is not None:
                now = time.perf_counter() - start
                total = 0
                per_stage: dict[str, int] = {}
                try:
                    members = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    members = []
                for member in members:
                    try:
                        rss = member.memory_info().rss
                        if member.pid not in owner:
                            stage = _stage_of(" ".join(member.cmdline()), stage_keys)
                            if stage is None:
                                stage = owner.get(member.ppid())
                            owner[member.pid] = stage
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                    total += rss
                    stage = owner.get(member.pid)
                    if stage:
                        per_stage[stage] = per_stage.get(stage, 0) + rss
                peak_total = max(peak_total, total / MIB)
                for stage, rss in per_stage.items():
                    first.setdefault(stage, now)
                    last[stage] = now
                    peak_stage[stage] = max(peak_stage.get(stage, 0.0), rss / MIB)
            time.sleep(interval)
        proc.returncode = code
        wall = time.perf_counter() - start
    finally:
        if log:
            sink.close()
    whole = Measurement("", "total", round(wall, 3), round(max(peak_total, maxrss_kib / 1024), 1), code)
    stages = {
        s: Measurement("", s, round(last[s] - first[s] + interval, 3), round(peak_stage[s], 1), code)
        for s in sorted(first, key=first.get)
    }
    return whole, stages


def _wait4_nohang(pid: int) -> tuple[int, float] | None:
    """Reap ``pid`` if it has ended: (exit code, its largest process's maxrss KiB)."""
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    return code, float(usage.ru_maxrss)


def machine_info() -> dict[str, Any]:
    """The machine the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def log_tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
