"""core.progress: a bar on a terminal, nothing where standard error is not one."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

from pcnstudy.core import progress as progress_module
from pcnstudy.core.progress import progress

SCRIPT = ("from pcnstudy.core.progress import progress\n"
          "for _ in progress(range(3), desc='demo-bar'):\n    pass\n")


def test_no_bar_without_a_terminal():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert "demo-bar" not in proc.stderr and "demo-bar" not in proc.stdout


def test_a_bar_on_a_terminal():
    controller, worker = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=worker, check=True, timeout=60)
        assert proc.returncode == 0
        os.close(worker)
        worker = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if worker != -1:
            os.close(worker)
        os.close(controller)
    assert b"demo-bar" in seen and b"3/3" in seen


def test_progress_iterates_everything_and_respects_an_explicit_disable(monkeypatch):
    monkeypatch.setattr(progress_module, "_TERMINAL", None)
    assert list(progress(range(5), disable=True)) == [0, 1, 2, 3, 4]
