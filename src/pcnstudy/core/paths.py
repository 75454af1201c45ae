"""Every path the project uses, built once from the project root.

The root is ``PCNSTUDY_ROOT`` when set, else the nearest folder above the working
directory that holds ``dvc.yaml``, else the checkout this package was installed from.
Notebooks and modules import these names instead of writing ``../data`` strings.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def find_root(start: Path | None = None) -> Path:
    """Return the project root: ``PCNSTUDY_ROOT``, or the first parent holding dvc.yaml."""
    env = os.environ.get("PCNSTUDY_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return Path(__file__).resolve().parents[3]


ROOT = find_root()
CONFIG = ROOT / "config"
RAW = ROOT / "data" / "raw"
PROCESSED = ROOT / "data" / "processed"
RESULTS = PROCESSED / "results"
TRUTH = ROOT / "data" / "simulation_truth"
FIGURES = ROOT / "figures"
REPORTS = ROOT / "reports"
PAPER = ROOT / "paper"
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params.yaml"
INSTRUMENT = CONFIG / "instrument.yml"
CODEBOOK = CONFIG / "codebook.yml"


def packaged_file(package: str, name: str) -> Path:
    """Path of a data file shipped inside an installed package, found without importing it.

    Raises FileNotFoundError naming the package or the file when either is missing.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {package} package (which ships {name}) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {name} missing from the {package} package")
    return path


def from_root(path: str | os.PathLike) -> Path:
    """``path`` as given when absolute, else relative to the project root (never the
    working directory, which is ``notebooks/`` when Jupyter starts a kernel)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else ROOT / path
