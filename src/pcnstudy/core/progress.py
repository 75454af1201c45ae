"""Progress bars for long work: drawn on a terminal, silent in CI logs and in notebooks.

``progress(iterable, desc=...)`` is ``tqdm`` with one rule for every stage: the bar is
drawn only when the process's standard error is a terminal. Inside a stage notebook's
kernel ``sys.stderr`` is Jupyter's stream (never a terminal), but its file descriptor 2
is still the terminal ``dvc repro`` or ``pcnstudy notebook`` was started from; the bar
goes there, so it shows on a terminal while the executed notebook in reports/ stays
free of it, and a CI log (no terminal) gets nothing.
"""
from __future__ import annotations

import io
import os
import sys
from typing import Any, Iterable

from tqdm import tqdm

_TERMINAL: io.TextIOBase | None = None


def terminal() -> io.TextIOBase | None:
    """A text stream on the process's standard error when that is a terminal, else None."""
    global _TERMINAL
    if _TERMINAL is None:
        for stream in (sys.__stderr__, sys.stderr):
            try:
                fd = stream.fileno()
            except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
                continue
            if os.isatty(fd):
                _TERMINAL = open(fd, "w", closefd=False, encoding="utf-8", errors="replace")  # noqa: SIM115
                break
    return _TERMINAL


def progress(iterable: Iterable[Any] | None = None, *, disable: bool | None = None, **kwargs: Any) -> tqdm:
    """``tqdm(iterable, **kwargs)`` drawn on the terminal; ``disable=None`` (the default)
    disables it where there is no terminal, True or False decides."""
    stream = terminal()
    if stream is not None:
        kwargs.setdefault("file", stream)
    return tqdm(iterable, disable=(stream is None) if disable is None else disable, **kwargs)
