"""Run a stage notebook: papermill execution, then an HTML report with nbconvert.

``run_notebook("01_ingest", {"raw_dir": "data/raw"})`` executes
``notebooks/01_ingest.ipynb`` into ``reports/01_ingest.ipynb`` with the given
parameters injected after the cell tagged ``parameters`` (the kernel runs with
threads, hash seed, locale, time zone and render date pinned), removes the metadata that
changes from run to run (timings, kernel start times), and writes
``reports/01_ingest.html``. All in one process, with one kernel start.

Quiet: the kernel talks to the runner over IPC (Unix domain sockets in a private
temporary folder) rather than TCP on localhost, so ipykernel has no reason to warn
"Kernel is running over TCP without encryption" on every stage; and at the end the
kernel is asked to shut down without jupyter_client's SIGINT first (nothing is running
then, and the signal, landing while the kernel answers a message, made it log
"KeyboardInterrupt caught in kernel" now and then). When a stage has run,
``notebook_command`` prints one line saying what it did, read from the files the stage
wrote (``pcnstudy.core.stage_summary``), never from the notebook's output cells.

Start-up: importing papermill and nbconvert pulls in jsonschema, which, when the
optional ``rfc3987_syntax`` package is installed (it comes with Jupyter's own
dependencies), builds a Lark grammar at import time to check the "iri" string format:
about 1.1 s of every stage's start on a 2-core machine. Notebook validation never uses
that format, so ``_skip_slow_imports()``, run when this module is imported and before
papermill and nbconvert are, keeps ``rfc3987_syntax`` from loading in this process
(jsonschema then simply has no "iri" checker). The kernel is unaffected.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import yaml

from pcnstudy.core import paths
from pcnstudy.core.stage_summary import stage_summary
from pcnstudy.core.workspace import pinned_environment

VOLATILE_METADATA = ("papermill", "execution", "widgets")
# Optional packages whose import is slow and whose features the runner never uses.
SLOW_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def _skip_slow_imports() -> None:
    """Make ``import rfc3987_syntax`` fail fast (ImportError) unless it is already loaded."""
    for name in SLOW_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


_skip_slow_imports()  # before papermill and nbconvert bring in jsonschema (see the module docstring)

import nbformat  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
import papermill as pm  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402
from papermill.exceptions import PapermillExecutionError  # noqa: E402
from traitlets.config import Config  # noqa: E402


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn ``["seed=7", "formats=[html, pdf]"]`` into a dict, values read as YAML."""
    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"parameter {pair!r} is not key=value")
        key, value = pair.split("=", 1)
        params[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return params


def strip_volatile(nb: Any) -> Any:
    """Remove run-to-run metadata (timings, papermill bookkeeping, random cell ids) in place."""
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_METADATA:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id
    return nb


def ipc_kernel_config(socket_dir: Path) -> Config:
    """Kernel-manager config for a kernel reached over IPC sockets named under ``socket_dir``.

    The socket prefix is absolute, so the runner and the kernel (started in the project
    root) find the same sockets whatever the runner's working directory.
    """
    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(socket_dir).resolve() / "kernel")}})


class StageKernelManager(AsyncKernelManager):
    """The stage kernel's manager: shutting down, it skips the interrupt it would send first.

    papermill shuts the kernel down only once no cell is running (all ran, or one failed),
    so the interrupt has nothing to stop; an interrupt asked for while the kernel runs
    (a timeout) is sent as before.
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


def run_notebook(name: str, parameters: dict[str, Any] | None = None, root: Path | None = None) -> Path:
    """Execute ``notebooks/<name>.ipynb`` into reports/ and render its HTML; return the HTML path."""
    root = Path(root or paths.ROOT)
    source = root / "notebooks" / f"{name}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no notebook {source}")
    reports = root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    executed = reports / f"{name}.ipynb"
    env_before = dict(os.environ)
    os.environ.update(pinned_environment(root))
    os.environ["PCNSTUDY_ROOT"] = str(root)
    try:
        # A short /tmp path: a Unix socket's path must stay under about 100 characters.
        with tempfile.TemporaryDirectory(prefix="pcnstudy-kernel-") as socket_dir:
            pm.execute_notebook(
                str(source),
                str(executed),
                parameters=parameters or {},
                cwd=str(root),
                progress_bar=False,
                kernel_name="python3",
                kernel_manager_class=StageKernelManager,
                config=ipc_kernel_config(Path(socket_dir)),
            )
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    nb = nbformat.read(executed, as_version=4)
    strip_volatile(nb)
    nbformat.write(nb, executed)
    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(nb)
    html = reports / f"{name}.html"
    html.write_text(body, encoding="utf-8")
    return html


def failure_summary(err: Exception, name: str) -> str:
    """One line for a notebook that raised: the cell, the exception and its message.

    ``err`` is papermill's ``PapermillExecutionError`` (cell index, exception name and
    value); the full traceback stays in the executed notebook under reports/.
    """
    cell = getattr(err, "exec_count", None) or getattr(err, "cell_index", "?")
    ename = getattr(err, "ename", type(err).__name__)
    evalue = " ".join(str(getattr(err, "evalue", err)).split())
    return (f"pcnstudy notebook {name}: cell [{cell}] raised {ename}: {evalue} "
            f"(full traceback in reports/{name}.ipynb)")


def notebook_command(name: str, parameters: dict[str, Any] | None = None, root: Path | None = None) -> int:
    """``pcnstudy notebook NAME``: run it and print one line saying what the stage did;
    on failure print one line to stderr and return 1 (2: no such notebook)."""
    started = time.time()
    try:
        run_notebook(name, parameters, root)
    except FileNotFoundError as err:
        print(f"pcnstudy notebook {name}: {err}", file=sys.stderr)
        return 2
    except PapermillExecutionError as err:
        print(failure_summary(err, name), file=sys.stderr)
        return 1
    print(stage_summary(name, parameters or {}, Path(root or paths.ROOT), since=started))
    return 0
