"""End to end: ``dvc repro`` in a temporary copy of the repository builds every
declared output; a second run reruns nothing; a package change reruns its dependants."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import copy_repository, run_dvc

pytestmark = pytest.mark.slow


def declared_outputs(root: Path) -> list[Path]:
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    outs = []
    for stage in dvc["stages"].values():
        for out in stage.get("outs", []):
            outs.append(root / (out if isinstance(out, str) else next(iter(out))))
    return outs


@pytest.fixture(scope="module")
def built(built_project) -> Path:
    return built_project


def test_every_declared_output_exists(built):
    missing = [str(p.relative_to(built)) for p in declared_outputs(built) if not p.exists()]
    assert not missing, f"declared outputs not written: {missing}"
    lock = yaml.safe_load((built / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"ingest", "scores", "themes", "twin", "paper"}


def test_second_repro_reruns_nothing(built):
    proc = run_dvc(built, "repro")
    assert "Running stage" not in proc.stdout, proc.stdout
    status = run_dvc(built, "status")
    assert "up to date" in status.stdout, status.stdout


def test_no_participant_id_leaves_ingest(built):
    from leakscan import find_raw_ids

    import pandas as pd

    folders = [built / "data/processed", built / "figures", built / "reports", built / "paper"]
    # Short numeric ids ("107") equal counts in results tables: check those through the
    # id columns, which must hold nothing but pseudonyms.
    hits = find_raw_ids(built / "data/raw", folders, include_short_numeric=False)
    assert not hits, hits[:5]
    for table in ("respondents", "ratings", "feedback", "texts"):
        ids = pd.read_parquet(built / f"data/processed/{table}.parquet")["respondent"]
        assert ids.str.fullmatch(r"r_[0-9a-f]{12}").all(), table


def test_touching_the_package_reruns_its_dependants(built):
    init = built / "src/pcnstudy/__init__.py"
    original = init.read_text()
    try:
        init.write_text(original + "\n# touched\n")
        status = run_dvc(built, "status")
        for stage in ("ingest", "scores", "themes", "twin", "paper"):
            assert f"{stage}:" in status.stdout, status.stdout
    finally:
        init.write_text(original)
    assert "up to date" in run_dvc(built, "status").stdout


def test_a_second_clean_run_reproduces_every_hash(built, tmp_path_factory):
    """The CI-sized version of `pcnstudy verify`: two clean copies, identical outputs."""
    from pcnstudy.verify.rerun import compare_runs

    other = copy_repository(tmp_path_factory.mktemp("pipeline2") / "repo")
    run_dvc(other, "repro")
    rows = compare_runs(built, other)
    different = [f"{r.stage} {r.output} {r.detail}" for r in rows if not r.same]
    assert rows and not different, different


def test_a_parameter_change_reaches_the_rendered_paper(built):
    """Raising the disclosure threshold changes what the paper shows, with no manual edit."""
    params_path = built / "params.yaml"
    original = params_path.read_text()
    before_vars = (built / "paper/_variables.yml").read_text()
    before_html = (built / "paper/_output/index.html").read_text()
    try:
        params = yaml.safe_load(original)
        params["disclosure"]["min_cell"] = 10
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        proc = run_dvc(built, "repro")
        assert "Running stage 'paper'" in proc.stdout
        after_vars = (built / "paper/_variables.yml").read_text()
        after_html = (built / "paper/_output/index.html").read_text()
        assert after_vars != before_vars
        assert "10" in yaml.safe_load(after_vars)["params"]["disclosure"]["min_cell"].__str__()
        assert after_html != before_html
        assert "&lt;10" in after_html or "<10" in after_html
    finally:
        params_path.write_text(original)
        run_dvc(built, "repro")


def test_verify_names_a_corrupted_processed_file(built):
    from pcnstudy.verify.rerun import check_workspace

    target = built / "data/processed/ratings.csv"
    original = target.read_bytes()
    assert check_workspace(built) == []
    try:
        target.write_bytes(original + b"x\n")
        rows = check_workspace(built)
        assert [(r.stage, r.output, r.same) for r in rows] == [("ingest", "data/processed/ratings.csv", False)]
    finally:
        target.write_bytes(original)


def test_no_output_records_a_machine_path(built):
    """Outputs must not depend on where the project or its environment live."""
    import sys

    needles = [str(built).encode(), str(Path(sys.prefix)).encode(), b"site-packages"]
    found = []
    for path in declared_outputs(built):
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            data = file.read_bytes()
            found += [f"{file.relative_to(built)}: {n.decode()}" for n in needles if n in data]
    assert not found, found[:5]
