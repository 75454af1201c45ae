"""Each DVC stage depends on its own subpackage and the shared core, never on the whole
package: on a built pipeline, editing one file marks exactly the stages that run its code
as changed (``dvc status``), and editing the simulator's file writers, the benchmark or
verify marks none. The twin check's coverage study runs the scores stage's interval
functions and the simulator's in-memory generator, so editing those files marks it too."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_dvc
from pcnstudy.core.workspace import SOURCE_PATHSPEC

pytestmark = pytest.mark.slow

ALL = {"ingest", "scores", "themes", "twin", "paper"}


def changed_stages(root: Path, rel: str) -> set[str]:
    """The stages ``dvc status`` reports after appending a comment to ``rel`` (then restored)."""
    path = root / rel
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited by a test\n")
        status = json.loads(run_dvc(root, "status", "--json").stdout or "{}")
    finally:
        path.write_bytes(original)
    return set(status)


@pytest.mark.parametrize("rel, expected", [
    ("src/pcnstudy/simulate/study.py", set()),
    ("src/pcnstudy/bench/scenarios.py", set()),
    ("src/pcnstudy/verify/rerun.py", set()),
    ("src/pcnstudy/ingest/stage.py", {"ingest"}),
    ("src/pcnstudy/scores/change.py", {"scores", "twin"}),
    ("src/pcnstudy/scores/stage.py", {"scores"}),
    ("src/pcnstudy/simulate/ratings.py", {"twin"}),
    ("src/pcnstudy/themes/topics.py", {"themes"}),
    ("src/pcnstudy/paper/render.py", {"paper"}),
    ("src/pcnstudy/twin/stage.py", {"twin"}),
    ("src/pcnstudy/core/paths.py", ALL),
    ("src/pcnstudy/cli.py", ALL),
])
def test_an_edit_marks_only_the_stages_that_run_that_code(built_project, rel, expected):
    assert (built_project / rel).is_file(), rel
    assert changed_stages(built_project, rel) == expected
    assert "up to date" in run_dvc(built_project, "status").stdout


def test_every_stage_subpackage_is_a_dependency_of_its_stage_only(built_project):
    """A stage's own code is not a dependency of any other stage (downstream stages re-run
    only when its outputs change)."""
    stages = yaml.safe_load((built_project / "dvc.yaml").read_text())["stages"]
    for name in ALL:
        owners = {s for s, spec in stages.items() if f"src/pcnstudy/{name}" in spec["deps"]}
        assert owners == {name}, (name, owners)
    for tool in ("simulate", "bench", "verify"):
        assert not any(f"src/pcnstudy/{tool}" in spec["deps"] for spec in stages.values()), tool


def test_the_paper_names_the_last_commit_of_what_the_stages_depend_on():
    """The colophon's source commit moves exactly when a stage's package dependencies do:
    a commit to the simulator's file writers or the benchmark changes neither."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    package_deps = {d for spec in stages.values() for d in spec["deps"] if d.startswith("src/")}
    spec_paths = {p for p in SOURCE_PATHSPEC if p.startswith("src/")}
    assert spec_paths <= package_deps
    uncovered = {d for d in package_deps if not any(d == p or d.startswith(p + "/") for p in spec_paths)}
    assert not uncovered, sorted(uncovered)
