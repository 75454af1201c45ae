"""The compendium's furniture: layout, two-command quickstart, CI, DVC declarations,
notebooks committed without outputs and free of hard-coded cohorts."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from conftest import ROOT

DEMO_COHORTS = ["se_cohort1", "se_cohort2", "llr_cd", "ss_als", "bjgp_qual", "nw_cd", "elancs_fed"]


def test_layout_has_every_folder_and_file():
    for rel in ["notebooks", "data/raw", "data/processed", "src/pcnstudy", "figures", "paper",
                "reports", "tests", "config", "environment.yml", "dvc.yaml", "params.yaml",
                "pyproject.toml", "README.md", "requirements.lock", "LICENSE", "CITATION.cff",
                ".dvc/config", "data/raw/README.md"]:
        assert (ROOT / rel).exists(), rel


def test_generated_folders_ignore_everything_but_themselves():
    for rel in ["data/processed", "figures", "reports"]:
        lines = (ROOT / rel / ".gitignore").read_text().split()
        assert lines == ["*", "!.gitignore"], rel


def test_raw_readme_says_read_only():
    text = (ROOT / "data/raw/README.md").read_text().lower()
    assert "never edited by hand" in text and "never written by the pipeline" in text


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_quickstart_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quickstart_commands()
    assert len(commands) == 2
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert ci[-1] == commands[1]
    makefile = (ROOT / "Makefile").read_text()
    for command in commands:
        target = command.split()[1]
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "dvc repro" in makefile


def normalise(requirement: str) -> str:
    """A requirement's project name, normalised as PyPI compares names."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;]", requirement)[0].lower())


def pyproject_dependencies() -> list[str]:
    return [normalise(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]


def test_lock_pins_every_dependency():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"unpinned: {line}"
            pins[normalise(name)] = version
    for name in pyproject_dependencies():
        assert name in pins, f"{name} is not pinned in requirements.lock"


def test_environment_yml_mirrors_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = set()
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            listed.add(normalise(item))
    assert "quarto" in listed
    for name in pyproject_dependencies():
        assert name in listed, f"{name} missing from environment.yml"


def test_dvc_stages_declare_params_that_exist():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert list(dvc["stages"]) == ["ingest", "scores", "themes", "twin", "paper"]
    for name, stage in dvc["stages"].items():
        assert "src/pcnstudy" not in stage["deps"], f"{name} depends on the whole package"
        for own in ("src/pcnstudy/__init__.py", "src/pcnstudy/cli.py", "src/pcnstudy/core", f"src/pcnstudy/{name}"):
            assert own in stage["deps"], f"{name} does not depend on {own}"
        for key in stage["params"]:
            node = params
            for part in str(key).split("."):
                assert part in node, f"{name} declares missing param {key}"
                node = node[part]
        for ref in re.findall(r"\$\{([^}]+)\}", stage["cmd"]):
            node = params
            for part in ref.split("."):
                assert part in node, f"{name} uses missing param {ref}"
                node = node[part]
            top = ref.split(".")[0]
            assert top in stage["params"] or ref in stage["params"], f"{name} reads {ref} undeclared"


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_stage_notebooks_exist_stripped_and_parameterised():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    names = {re.search(r"notebook (\S+)", s["cmd"]).group(1)
             for s in dvc["stages"].values() if "notebook" in s["cmd"]}
    assert names == {p.stem for p in notebooks()}
    for path in notebooks():
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code, path
        for cell in code:
            assert not cell.get("outputs"), f"{path.name} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} has execution counts"
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs one cell tagged parameters"


def test_notebooks_are_thin_and_use_no_relative_data_paths():
    for path in notebooks():
        nb = json.loads(path.read_text())
        source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert "../" not in source, path.name
        assert "import pcnstudy" in source or "from pcnstudy" in source, path.name
        longest = max(len("".join(c["source"]).splitlines()) for c in nb["cells"] if c["cell_type"] == "code")
        assert longest <= 25, f"{path.name} has a {longest}-line cell: move it into the package"


def test_no_demonstration_cohort_is_hard_coded_in_code_or_notebooks():
    files = list((ROOT / "src").rglob("*.py")) + notebooks() + [ROOT / "dvc.yaml"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for cohort in DEMO_COHORTS:
            assert not re.search(rf"\b{cohort}\b", text), f"{cohort} hard-coded in {path}"


def test_dvc_lock_hashes_only_the_package_sources():
    """Bytecode caches must not enter the package's hash, or dvc.lock differs per machine."""
    import subprocess

    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "src/pcnstudy"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name, stage in lock["stages"].items():
        for dep in stage["deps"]:
            if dep["path"] == "src/pcnstudy":
                assert dep["nfiles"] == len(tracked), f"{name}: dvc.lock hashed {dep['nfiles']} files"
