"""The paper stage: assemble the paper's inputs from the pipeline's outputs, then render it.

``read_inputs(root)`` reads what the paper is made from, all of it already processed:
the results JSON and the quotes CSV (``data/processed/results``), the cohorts the run
ingested (``data/processed/cohorts.parquet``), the instrument and codebook configs,
the executed notebooks' titles (``reports/*.html``) and the build facts (commit,
render date, dvc.lock hashes, package versions). ``compute(inputs, settings)`` is pure
and gives a ``PaperResult``: the flat variables, the flags of the conditional prose
and the markdown tables. ``write(result, paper_dir)`` writes what ``paper/index.qmd``
uses, so that the paper holds no hand-typed result:

- ``paper/_variables.yml``: every results JSON flattened under its file's stem
  (``scores.change.<cohort>.<domain>.pct_change``), the roles of ``prose.study_roles``,
  the study's parameters under ``params.`` and build facts under ``build.``, each
  value a string formatted by ``pcnstudy.paper.values.format_value``;
- ``paper/_study.yml``: the conditional prose's flags (``prose.paper_conditions``);
- ``paper/tables/*.md``: pipe tables with ``: caption {#tbl-...}`` lines
  (``pcnstudy.paper.tables``), the notebooks list and the colophon.

``prepare`` runs the three and copies the figures into ``paper/figures/`` (Quarto and
Typst refuse files outside the project folder). ``paper_command(formats)`` is the
``pcnstudy paper`` command: it reads params.yaml (the paper stage has no notebook),
prepares, renders each format (``pcnstudy.paper.render``) and adds
``paper/_output/notebooks/*.html`` and ``paper/_output/supplementary-tables.zip``
(the results CSVs that pass the disclosure audit over all published tables, never a
response-level one, with the audit's report; fixed dates).
"""
from __future__ import annotations

import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from pcnstudy.core import paths
from pcnstudy.core.disclosure import get_rule
from pcnstudy.core.labels import cohort_labels
from pcnstudy.core.params import load_params
from pcnstudy.core.publication_audit import audit_results, bundle_files, bundle_table, summary_lines
from pcnstudy.core.progress import progress
from pcnstudy.paper import render
from pcnstudy.paper.colophon import (
    build_commit,
    build_date,
    build_epoch,
    colophon_table,
    dvc_lock_hashes,
    executed_notebooks,
    notebook_entries,
    notebooks_list,
    package_versions,
)
from pcnstudy.paper.inputs import (
    PaperInputError,
    cohort_records,
    find_csv,
    load_results,
    project_path,
    read_cohorts,
    read_quotes,
    read_twin,
)
from pcnstudy.paper.prose import (
    bias_statements,
    config_facts,
    derived_params,
    derived_results,
    design_conditions,
    design_prose,
    feedback_prose,
    paper_conditions,
    study_facts,
    study_roles,
)
from pcnstudy.paper.tables import display_names, paper_tables
from pcnstudy.paper.twin_tables import twin_tables
from pcnstudy.paper.values import PCT_RE, flatten, format_param, format_value, nest, prose_percent, stat_name

FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

CAPTION_LINE = re.compile(r"^: (.*) \{#(tbl-[\w-]+)\}$", re.M)


@dataclass(frozen=True)
class PaperSettings:
    """How the paper is assembled: ``params`` is the study's params.yaml as a dict, quoted in the
    prose under ``params.``; its ``scores.alpha`` gives the confidence level and a non-empty
    ``cohorts`` list marks a run restricted to some of the study's cohorts."""

    params: Mapping[str, Any]


@dataclass(frozen=True)
class PaperInputs:
    """What the paper is made from, read by ``read_inputs``."""

    results: Mapping[str, Any]                 # {results JSON stem: parsed JSON}
    cohorts: pd.DataFrame                      # data/processed/cohorts.parquet: the cohorts analysed
    instrument: Mapping[str, Any] | None       # config/instrument.yml
    codebook: Mapping[str, Any] | None         # config/codebook.yml
    quotes: pd.DataFrame | None                # the results' quotes CSV (every cell a string)
    notebooks: list[tuple[str, str]]           # (reports/*.html file name, notebook title)
    epoch: int                                 # render time (SOURCE_DATE_EPOCH or the commit's date)
    commit: str                                # source commit
    lock_hashes: list[tuple[str, str, str]]    # (stage, out, md5) of dvc.lock, paper stage left out
    versions: Mapping[str, str]                # package -> installed version
    twin: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # the twin check's tables (read_twin)


@dataclass(frozen=True)
class PaperResult:
    """The paper's generated inputs: flat ``variables`` (every value a string), the
    ``conditions`` of its conditional prose, and its ``tables`` ({file stem: markdown})."""

    variables: dict[str, str]
    conditions: dict[str, bool]
    tables: dict[str, str]
    epoch: int
    commit: str

    def summary_frame(self, name: str = "variables") -> pd.DataFrame:
        """A labelled table of ``variables`` (key -> value), ``conditions`` (flag -> shown)
        or ``tables`` (stem -> label, caption, rows)."""
        if name == "variables":
            return pd.DataFrame({"value": pd.Series(self.variables, dtype=object)}).rename_axis("key")
        if name == "conditions":
            return pd.DataFrame({"shown": pd.Series(self.conditions, dtype=bool)}).rename_axis("flag")
        if name == "tables":
            rows = []
            for stem, text in sorted(self.tables.items()):
                match = CAPTION_LINE.search(text)
                body = [line for line in text.splitlines() if line.startswith("| ")][1:]  # header row left out
                rows.append({"table": stem, "label": match.group(2) if match else "",
                             "caption": match.group(1) if match else "", "rows": len(body)})
            return pd.DataFrame(rows, columns=["table", "label", "caption", "rows"]).set_index("table")
        raise KeyError(f"no summary {name!r}; choose variables, conditions or tables")


# --------------------------------------------------------------------------- read


def _config(path: Path) -> Any:
    """A YAML config file as Python objects, None when it is missing."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_inputs(root: Path | None = None) -> PaperInputs:
    """Read the paper's inputs from the project at ``root`` (default: this project).

    PaperInputError when the results folder is missing or a file is malformed.
    """
    results_dir = project_path(root, paths.RESULTS)
    if not results_dir.is_dir():
        raise PaperInputError(f"{results_dir}:0:: no results folder; run the scores and themes stages first")
    base = Path(root) if root is not None else paths.ROOT
    return PaperInputs(
        results=load_results(results_dir),
        cohorts=read_cohorts(project_path(root, paths.PROCESSED)),
        instrument=_config(project_path(root, paths.INSTRUMENT)),
        codebook=_config(project_path(root, paths.CODEBOOK)),
        quotes=read_quotes(find_csv(results_dir, "quote")),
        notebooks=notebook_entries(project_path(root, paths.REPORTS)),
        epoch=build_epoch(base),
        commit=build_commit(base),
        lock_hashes=dvc_lock_hashes(base / "dvc.lock"),
        versions=package_versions(),
        twin=read_twin(results_dir),
    )


# --------------------------------------------------------------------------- compute


def variables(results: Mapping[str, Any], params: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the paper's flat variables: formatted results, params, derived and extra values."""
    flat: dict[str, str] = {}
    for stem, tree in results.items():
        for key, value in flatten(tree, stem).items():
            flat[key] = format_value(key, value)
            name = stat_name(key)
            if PCT_RE.match(name) and "ci_" not in name and name == key.rsplit(".", 1)[-1]:
                flat[key + "_text"] = prose_percent(key, value)
    flat.update(derived_results(results))
    for key, value in flatten(dict(params), "params").items():
        flat[key] = format_param(value)
    flat.update(derived_params(params))
    flat.update(extra or {})
    return dict(sorted(flat.items()))


def compute(inputs: PaperInputs, settings: PaperSettings) -> PaperResult:
    """Build the paper's variables, conditions and tables from its inputs (no file is read or written)."""
    params = dict(settings.params)
    results = dict(inputs.results)
    cohorts = cohort_records(inputs.cohorts)
    date = build_date(inputs.epoch)
    extra = {"build.date": date, "build.commit": inputs.commit, "build.commit_short": inputs.commit[:7],
             **study_facts(cohorts), **config_facts(inputs.instrument, inputs.codebook)}
    roles = study_roles(results.get("scores") or {}, cohorts)
    extra.update(feedback_prose(roles, inputs.instrument))
    extra.update(design_prose(results.get("scores") or {}, cohorts, inputs.instrument,
                              derived_params(params).get("params.derived.conf_pct", "95")))
    extra.update(bias_statements(roles, inputs.instrument))
    flat = variables({**results, "roles": roles}, params, extra)
    conditions = paper_conditions(results, roles, cohorts, restricted=bool(params.get("cohorts")))
    conditions.update(design_conditions(cohorts))
    tables = paper_tables(results, instrument=inputs.instrument, codebook=inputs.codebook,
                          conf_pct=flat.get("params.derived.conf_pct", "95"), quotes=inputs.quotes, cohorts=cohorts)
    tables.update(twin_tables(inputs.twin, cohorts, display_names(inputs.instrument, inputs.codebook),
                              flat.get("params.derived.conf_pct", "95")))
    tables["notebooks"] = notebooks_list(inputs.notebooks)
    tables["colophon"] = colophon_table(inputs.commit, date, inputs.lock_hashes, inputs.versions)
    return PaperResult(variables=flat, conditions=conditions, tables=tables, epoch=inputs.epoch,
                       commit=inputs.commit)


# --------------------------------------------------------------------------- write


def write_variables(flat: Mapping[str, str], out: Path) -> Path:
    """Write ``_variables.yml`` (nested, every value a quoted string); return its path."""
    text = yaml.safe_dump(nest(flat), sort_keys=True, allow_unicode=True, default_style='"', width=1000)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Written by `pcnstudy paper` from the results JSON and params.yaml: do not edit.\n" + text,
                   encoding="utf-8", newline="\n")
    return out


def write_conditions(conditions: Mapping[str, bool], out: Path, date: str | None = None) -> Path:
    """Write the flags as a YAML metadata file (``_study.yml``) read by Quarto and pandoc alike.

    With ``date`` (the build's source date) the file also sets the paper's ``date``, so a
    hand-run ``quarto render paper`` shows the date that ``pcnstudy paper`` passes."""
    text = yaml.safe_dump(dict(sorted(conditions.items())), sort_keys=True)
    if date:
        text += yaml.safe_dump({"date": date})
    out = Path(out)
    out.write_text("# Written by `pcnstudy paper`: which parts of the prose this run has data for,\n"
                   "# and the build's source date.\n" + text, encoding="utf-8", newline="\n")
    return out


def write_tables(tables: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Write each table as ``<out_dir>/<stem>.md``; return the paths, sorted."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(tables.items()):
        path = out_dir / f"{name}.md"
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def write(result: PaperResult, paper_dir: Path) -> list[Path]:
    """Write ``_variables.yml``, ``_study.yml`` and ``tables/`` (replacing what was there) in ``paper_dir``."""
    paper_dir = Path(paper_dir)
    written = [write_variables(result.variables, paper_dir / "_variables.yml"),
               write_conditions(result.conditions, paper_dir / render.STUDY_METADATA, build_date(result.epoch))]
    tables = paper_dir / "tables"
    if tables.exists():
        shutil.rmtree(tables)
    return written + write_tables(result.tables, tables)


def copy_figures(figures_dir: Path, dest: Path) -> list[Path]:
    """Copy ``fig-*.png`` into ``dest`` (replacing what was there); return the copies."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copies = []
    for src in sorted(Path(figures_dir).glob("fig-*.png")):
        target = dest / src.name
        shutil.copyfile(src, target)
        copies.append(target)
    return copies


def copy_notebooks(reports_dir: Path, dest: Path) -> list[Path]:
    """Copy every executed stage notebook's HTML (``colophon.executed_notebooks``) into ``dest``
    (the rendered paper's notebooks/)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    copies = []
    for src in executed_notebooks(reports_dir):
        shutil.copyfile(src, dest / src.name)
        copies.append(dest / src.name)
    return copies


#: the bundle's key from cohort id (the tables' ``cohort`` column) to what the paper calls it
COHORT_KEY = "cohorts-key.csv"
COHORT_KEY_COLUMNS = ("cohort", "label", "programme", "region", "design", "start", "end", "waves", "data")


def cohort_key(cohorts: pd.DataFrame) -> pd.DataFrame:
    """One row per cohort: its id, the plain label the paper and figures use, and what it is
    (programme, region, design, dates, waves, simulated or real). No counts of people."""
    frame = pd.DataFrame(cohorts).copy()
    if frame.empty or "cohort" not in frame.columns:
        return pd.DataFrame(columns=list(COHORT_KEY_COLUMNS))
    frame["label"] = frame["cohort"].map(cohort_labels(frame))
    for col in COHORT_KEY_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    return frame[list(COHORT_KEY_COLUMNS)].sort_values("cohort", kind="stable").reset_index(drop=True)


def write_supplementary_zip(results_dir: Path, out: Path, instrument: Mapping[str, Any] | None = None,
                            threshold: int = 5, marker: str = "<5", round_to: int | None = None,
                            cohorts: pd.DataFrame | None = None) -> list[str]:
    """Zip the results CSVs that pass the disclosure audit (paths relative to results_dir) with fixed
    dates and modes, and ``disclosure-audit.txt`` (what was audited, what was left out and why);
    return the tables' names. With ``cohorts`` (the ingested cohorts table), ``cohorts-key.csv``
    maps the tables' cohort ids to the programmes the paper names.

    The audit (``pcnstudy.core.publication_audit``) reads the tables as published, linked
    tables together; a response-level table (themes/doc_themes.csv) is never included.
    """
    results_dir = Path(results_dir)
    report = audit_results(results_dir, instrument, threshold, marker, round_to)
    files = bundle_files(report)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.create_system = 3
        zf.writestr(info, data, compresslevel=9)

    with zipfile.ZipFile(out, "w") as zf:
        for name in files:
            add(zf, name, bundle_table(results_dir, name))
        if cohorts is not None:
            add(zf, COHORT_KEY, cohort_key(cohorts).to_csv(index=False, lineterminator="\n").encode("utf-8"))
        lines = ["Disclosure audit of the results tables (linked tables together); a table with a leak",
                 "or one row per response is left out of this bundle.", ""] + summary_lines(report)
        add(zf, "disclosure-audit.txt", ("\n".join(lines) + "\n").encode("utf-8"))
    return files


# --------------------------------------------------------------------------- command


def _rule_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """params.yaml ``disclosure`` as ``get_rule`` arguments."""
    disclosure = params.get("disclosure") or {}
    return {"rule": str(disclosure.get("rule", "threshold")), "min_cell": int(disclosure.get("min_cell", 5))}


def prepare(root: Path | None = None, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Read, compute and write the paper's inputs in ``<root>/paper`` and copy its figures;
    return the build facts (epoch, commit, variables). ``params`` defaults to params.yaml."""
    inputs = read_inputs(root)
    params = dict(params if params is not None else load_params(project_path(root, paths.PARAMS)))
    result = compute(inputs, PaperSettings(params=params))
    paper_dir = project_path(root, paths.PAPER)
    write(result, paper_dir)
    copy_figures(project_path(root, paths.FIGURES), paper_dir / "figures")
    return {"epoch": result.epoch, "commit": result.commit, "variables": result.variables}


def paper_command(formats: list[str], root: Path | None = None) -> int:
    """``pcnstudy paper``: assemble the inputs, render each format, add the extras.

    Returns 0 on success, 1 when an input is missing or bad (one line on stderr),
    2 for an unknown format.
    """
    unknown = [f for f in formats if f not in render.FORMATS]
    if unknown or not formats:
        print(f"pcnstudy paper: unknown format(s) {', '.join(unknown) or '(none)'}; choose from "
              f"{', '.join(render.FORMATS)}", file=sys.stderr)
        return 2
    shown_root = Path(root) if root is not None else paths.ROOT
    paper_dir = project_path(root, paths.PAPER)
    outputs: dict[str, dict[str, Any]] = {}
    with progress(total=len(formats) + 2, desc="paper", unit="step") as bar:
        try:
            bar.set_postfix_str("variables, tables, figures")
            facts = prepare(root)
            bar.update()
            bar.set_postfix_str(", ".join(formats))
            outputs.update(render.render(paper_dir, formats, epoch=facts["epoch"], on_done=lambda fmt: bar.update()))
        except (PaperInputError, render.RenderError) as err:
            bar.close()
            print(f"pcnstudy paper: {err}", file=sys.stderr)
            return 1
        bar.set_postfix_str("notebooks, supplementary tables")
        out_dir = paper_dir / "_output"
        copy_notebooks(project_path(root, paths.REPORTS), out_dir / "notebooks")
        rule = get_rule(**_rule_params(load_params(project_path(root, paths.PARAMS))))
        instrument = _config(project_path(root, paths.INSTRUMENT))  # None in a project without one
        write_supplementary_zip(project_path(root, paths.RESULTS), out_dir / "supplementary-tables.zip", instrument,
                                rule.threshold, rule.marker, rule.round_to,
                                cohorts=read_cohorts(project_path(root, paths.PROCESSED)))
        bar.update()
    for fmt, info in outputs.items():
        pages = f", {info['pages']} pages" if info.get("pages") else ""
        print(f"{fmt}: {info['path'].relative_to(shown_root)} ({info['engine']}, {info['seconds']:.2f} s{pages})")
    return 0
