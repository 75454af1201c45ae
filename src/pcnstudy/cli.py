"""The ``pcnstudy`` command line: thin wrappers over the package's functions.

Each command imports its module only when it runs, so ``pcnstudy --help`` is fast.
Commands return 0 on success, 1 when the input has problems (reported in plain
words, never as a traceback) and 2 on a usage error.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pcnstudy.core import paths

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reproducible evaluation of PCN leadership-development programmes.",
    pretty_exceptions_enable=False,
)


def _exit(code: int | None) -> None:
    raise typer.Exit(code=int(code or 0))


@app.command()
def simulate(
    config: Path = typer.Option(None, help="Simulation config (default config/simulation.yml)."),
    out: Path = typer.Option(None, help="Where the raw exports go (default data/raw)."),
    truth: Path = typer.Option(None, help="Where the generating truth goes (default data/simulation_truth)."),
    seed: Optional[int] = typer.Option(None, help="Override the seed in params.yaml."),
) -> None:
    """Write the simulated twin's raw exports and its generating truth."""
    from pcnstudy.simulate.study import simulate_command

    _exit(simulate_command(config=config, out=out, truth=truth, seed=seed))


@app.command()
def validate(cohort_dir: Path = typer.Argument(..., help="A cohort folder, e.g. data/raw/<cohort>.")) -> None:
    """Check a cohort's exports; print every problem as file:row:column: message."""
    from pcnstudy.ingest.commands import validate_command

    _exit(validate_command(cohort_dir))


@app.command()
def ingest(
    raw: Path = typer.Option(paths.RAW, help="Folder of cohort folders."),
    out: Path = typer.Option(paths.PROCESSED, help="Folder for the processed tables."),
) -> None:
    """Run the ingest stage outside DVC: raw exports to tidy, pseudonymised tables."""
    from pcnstudy.ingest.commands import ingest_command

    _exit(ingest_command(raw=raw, out=out))


@app.command()
def key(
    out: Path = typer.Option(None, help="Where to write the key (default params.yaml ingest.key_file, "
                                        "~/.config/pcnstudy/pseudonym.key); never inside the project."),
    force: bool = typer.Option(False, help="Replace an existing key (its pseudonyms will no longer match)."),
) -> None:
    """Create a random pseudonymisation key, readable by you only, outside the repository."""
    from pcnstudy.ingest.pseudonym import key_command

    _exit(key_command(out=out, force=force))


@app.command()
def scores(
    ratings: Path = typer.Option(..., help="Long CSV or parquet: respondent, wave, item, score."),
    out: Path = typer.Option(..., help="Output folder."),
    waves: Optional[str] = typer.Option(None, help="Comma-separated waves in time order."),
    alpha: float = typer.Option(0.05, help="1 - confidence level."),
) -> None:
    """Change scores and mixed models for any long table of ratings."""
    from pcnstudy.scores.command import scores_command

    _exit(scores_command(ratings=ratings, out=out, waves=waves, alpha=alpha))


@app.command()
def themes(
    texts: Path = typer.Option(..., help="CSV with columns id, text."),
    codebook: Path = typer.Option(..., help="Codebook YAML (themes with seed terms)."),
    out: Path = typer.Option(..., help="Output folder."),
    free_topics: str = typer.Option("auto", help="Number of free topics, or auto."),
    human_codes: Optional[Path] = typer.Option(None, help="Human codes: a CSV of id, theme, or a REFI-QDA project (.qdpx) from NVivo, ATLAS.ti, MAXQDA or QualCoder."),
    seed: int = typer.Option(7, help="Random seed."),
) -> None:
    """Code free text against a codebook with the guided topic model."""
    from pcnstudy.themes.command import themes_command

    _exit(
        themes_command(
            texts=texts, codebook=codebook, out=out, free_topics=free_topics, human_codes=human_codes, seed=seed
        )
    )


@app.command()
def twin() -> None:
    """Compare the analysis of the simulated cohorts with the simulator's generating truth."""
    from pcnstudy.twin.command import twin_command

    _exit(twin_command())


@app.command()
def paper(
    formats: str = typer.Option("html,pdf", help="Comma-separated output formats."),
) -> None:
    """Assemble the results into the paper and render it (Quarto, or its engines directly)."""
    from pcnstudy.paper.manuscript import paper_command

    _exit(paper_command(formats=[f.strip() for f in formats.split(",") if f.strip()]))


@app.command()
def notebook(
    name: str = typer.Argument(..., help="Notebook name, e.g. 01_ingest."),
    param: List[str] = typer.Option([], "-p", "--param", help="key=value (value read as YAML)."),
) -> None:
    """Run one stage notebook with papermill and write its HTML report."""
    from pcnstudy.core.notebooks import notebook_command, parse_param_pairs

    _exit(notebook_command(name, parse_param_pairs(param)))


@app.command("new-cohort")
def new_cohort(
    name: str = typer.Argument(..., help="Cohort id: lower-case letters, digits and _ only."),
    export: List[Path] = typer.Option(..., "--export", help="A survey export (repeat per wave)."),
    wave: List[str] = typer.Option([], "--wave", help="Wave label of each export, in order."),
) -> None:
    """Scaffold data/raw/NAME from survey exports and infer its column mapping."""
    from pcnstudy.ingest.commands import new_cohort_command

    _exit(new_cohort_command(name=name, exports=export, waves=wave))


@app.command()
def report(name: str = typer.Argument(..., help="Cohort id.")) -> None:
    """Render a short report for one cohort beside the pooled results of the others."""
    from pcnstudy.paper.report import report_command

    _exit(report_command(name))


@app.command()
def bench(
    only: str = typer.Option("", help="Comma-separated scenarios (cold, floor, noop, incremental, national, "
                                      "throughput, growth); default all."),
    out: Path = typer.Option(None, help="Report path (default reports/bench.json)."),
    work: Path = typer.Option(None, help="Keep the working files here (default: a temporary folder, removed)."),
) -> None:
    """Run the benchmarks and write reports/bench.json."""
    from pcnstudy.bench.scenarios import bench_command

    scenarios = [s.strip() for s in only.split(",") if s.strip()] or None
    _exit(bench_command(scenarios, out=out, work=work))


@app.command()
def verify(tolerant: bool = typer.Option(False, help="Compare tables to 1e-9 relative, images perceptually.")) -> None:
    """Re-run the pipeline in a temporary copy and compare every output with dvc.lock."""
    from pcnstudy.verify.rerun import verify_command

    _exit(verify_command(tolerant=tolerant))


def main() -> None:  # console-script entry point
    app(prog_name="pcnstudy")


if __name__ == "__main__":
    main()
