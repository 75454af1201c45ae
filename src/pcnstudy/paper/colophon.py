"""What a rendering was built from: the git commit, the render date, the data hashes of
dvc.lock, the package versions, and the executed notebooks it links.

Readers take the project (``build_epoch``, ``build_commit``, ``dvc_lock_hashes``,
``package_versions``, ``notebook_entries`` of reports/*.html) and give plain values;
``colophon_table`` and ``notebooks_list`` turn those values into the markdown of
``paper/tables/colophon.md`` and ``paper/tables/notebooks.md``.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable, Mapping

import pypandoc
import yaml

from pcnstudy.core.workspace import source_commit, source_date_epoch
from pcnstudy.paper.tables import md_escape, pipe_table

PACKAGES = (
    "pcnstudy", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "nltk",
    "matplotlib", "seaborn", "krippendorff", "dvc", "papermill", "pypandoc-binary", "typst",
)


def build_epoch(root: Path) -> int:
    """The render date as a Unix time: SOURCE_DATE_EPOCH, else the source commit's date, else 0."""
    return int(source_date_epoch(root))


def build_commit(root: Path) -> str:
    """The commit the pipeline was built from ('unknown' outside a git checkout)."""
    return source_commit(root) or "unknown"


def build_date(epoch: int) -> str:
    """ISO date (UTC) of a Unix time."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")


def dvc_lock_hashes(lock_path: Path, skip: Iterable[str] = ("paper",)) -> list[tuple[str, str, str]]:
    """(stage, out path, md5) for every stage output recorded in dvc.lock, sorted."""
    lock_path = Path(lock_path)
    if not lock_path.is_file():
        return []
    data = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    rows = []
    for stage, entry in (data.get("stages") or {}).items():
        if stage in skip:
            continue
        for out in entry.get("outs") or []:
            md5 = out.get("md5") or out.get("hash") or ""
            rows.append((stage, out.get("path", ""), str(md5)))
    return sorted(rows)


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed version of each package (and Python, pandoc), 'not installed' where absent."""
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        versions["pandoc"] = pypandoc.get_pandoc_version()
    except Exception:  # pragma: no cover - pandoc missing
        versions["pandoc"] = "not installed"
    return dict(sorted(versions.items()))


def colophon_table(commit: str, date: str, hashes: list[tuple[str, str, str]], versions: Mapping[str, str]) -> str:
    """The reproducibility colophon: commit, render date, data hashes, package versions."""
    rows = [["Git commit", "`" + md_escape(commit) + "`"], ["Render date", md_escape(date)]]
    for stage, path, md5 in hashes:
        rows.append([md_escape(f"dvc.lock {stage}: {path}"), "`" + md5[:12] + "`" if md5 else ""])
    for name, version in versions.items():
        rows.append([md_escape(name), md_escape(version)])
    return pipe_table(["Item", "Value"], rows, "Reproducibility colophon: what this rendering was built from",
                      "tbl-colophon", "ll")


def notebook_title(html: Path) -> str:
    """Title of an executed notebook: the first '# ' heading of the .ipynb beside it, else its name."""
    ipynb = html.with_suffix(".ipynb")
    if ipynb.is_file():
        try:
            nb = json.loads(ipynb.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "markdown":
                    source = "".join(cell.get("source", ""))
                    match = re.search(r"^#\s+(.+)$", source, flags=re.M)
                    if match:
                        return match.group(1).strip()
        except (OSError, json.JSONDecodeError):
            pass
    return html.stem


#: the name of a cohort report ``pcnstudy report`` writes into reports/ (``cohort-<id>.html``)
COHORT_REPORT_PREFIX = "cohort-"


def executed_notebooks(reports_dir: Path) -> list[Path]:
    """The HTML of every executed notebook in ``reports_dir``, sorted by name. The cohort reports
    ``pcnstudy report`` writes there are not part of the paper: they depend on what was run by
    hand, and the paper must be the same whatever was."""
    return [p for p in sorted(Path(reports_dir).glob("*.html")) if not p.name.startswith(COHORT_REPORT_PREFIX)]


def notebook_entries(reports_dir: Path) -> list[tuple[str, str]]:
    """(file name, title) of every executed notebook's HTML in ``reports_dir``, sorted by name."""
    return [(p.name, notebook_title(p)) for p in executed_notebooks(reports_dir)]


def notebooks_list(entries: Iterable[tuple[str, str]]) -> str:
    """Markdown list linking every executed notebook's HTML as ``notebooks/<name>.html``."""
    items = [f"- [{md_escape(title)}](notebooks/{name}) (`{name}`)" for name, title in entries]
    return "\n".join(items or ["- No executed notebooks were found."]) + "\n"
