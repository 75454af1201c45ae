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
def built(tmp_path_factory) -> Path:
    root = copy_repository(tmp_path_factory.mktemp("pipeline") / "repo")
    run_dvc(root, "repro")
    return root


def test_every_declared_output_exists(built):
    missing = [str(p.relative_to(built)) for p in declared_outputs(built) if not p.exists()]
    assert not missing, f"declared outputs not written: {missing}"
    lock = yaml.safe_load((built / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"ingest", "scores", "themes", "paper"}


def test_second_repro_reruns_nothing(built):
    proc = run_dvc(built, "repro")
    assert "Running stage" not in proc.stdout, proc.stdout
    status = run_dvc(built, "status")
    assert "up to date" in status.stdout, status.stdout


def test_no_participant_id_leaves_ingest(built):
    from pcnstudy.ingest import find_raw_ids

    folders = [built / "data/processed", built / "figures", built / "reports", built / "paper"]
    hits = find_raw_ids(built / "data/raw", folders)
    assert not hits, hits[:5]


def test_touching_the_package_reruns_its_dependants(built):
    init = built / "src/pcnstudy/__init__.py"
    original = init.read_text()
    try:
        init.write_text(original + "\n# touched\n")
        status = run_dvc(built, "status")
        for stage in ("ingest", "scores", "themes", "paper"):
            assert f"{stage}:" in status.stdout, status.stdout
    finally:
        init.write_text(original)
    assert "up to date" in run_dvc(built, "status").stdout
