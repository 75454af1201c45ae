"""The package's import graph, read from the source: no cycles, the core imports no
stage, no pipeline stage imports the simulator, the benchmark or verify (except the twin
check, whose coverage study draws from the simulator's in-memory generator), and the
package's own modules are imported at the top of a module (only the command line
imports each command's module when it runs, so that `pcnstudy --help` stays fast, and
the benchmark's measured child process imports only the stage it measures)."""
from __future__ import annotations

import ast
from pathlib import Path

import yaml

from conftest import ROOT

PACKAGE = ROOT / "src" / "pcnstudy"
STAGES = {"ingest", "scores", "themes", "twin", "paper"}
TOOLS = {"simulate", "bench", "verify"}
#: The tool modules a stage may import: the twin check's coverage study redraws the twin from
#: the simulator's in-memory generator (never its file writers: cohort_files, study, xlsx).
TOOL_MODULES_ALLOWED = {"twin": {"pcnstudy.simulate", "pcnstudy.simulate.config", "pcnstudy.simulate.ratings",
                                 "pcnstudy.simulate.text", "pcnstudy.simulate.truth"}}
# module -> why it imports the package's modules inside functions
LAZY_ALLOWED = {
    "pcnstudy.cli": "each command imports its module when it runs: `pcnstudy --help` stays fast",
    "pcnstudy.bench.child_stages": "a measured child process loads only the stage it measures",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def own_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported pcnstudy module, imported inside a function?) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("pcnstudy")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pcnstudy"):
            base = node.module
            names = [f"{base}.{a.name}" if (PACKAGE.parent / f"{base}.{a.name}".replace(".", "/")).exists()
                     or (PACKAGE.parent / (f"{base}.{a.name}".replace(".", "/") + ".py")).exists() else base
                     for a in node.names]
        found += [(name, id(node) in inner) for name in names]
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, _ in own_imports(path):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                edges[name].add(target)
    return edges


def subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""


def test_the_import_graph_has_no_cycle():
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_the_core_imports_no_stage_and_stages_import_no_tool():
    for module, targets in graph().items():
        here = subpackage(module)
        for target in targets:
            there = subpackage(target)
            if here == "core":
                assert there in {"core", ""} and target != "pcnstudy.cli", f"{module} imports {target}"
            if here in STAGES:
                assert there not in TOOLS or target in TOOL_MODULES_ALLOWED.get(here, set()), \
                    f"{module} imports {target}"


def test_own_modules_are_imported_at_the_top():
    lazy = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name in LAZY_ALLOWED:
            continue
        lazy += [f"{name} imports {target} inside a function" for target, inner in own_imports(path) if inner]
    assert not lazy, lazy


def closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += edges.get(node, ())
    return seen


def module_file(module: str) -> str:
    """The source file of a package module, relative to the project root."""
    base = PACKAGE.parent / module.replace(".", "/")
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return path.relative_to(ROOT).as_posix()


def test_each_stage_runs_only_code_its_dvc_stage_depends_on():
    """What a stage imports, directly or not, lies in its own folder or the core, or (the twin
    check, which uses the scores stage's interval functions and the simulator's generator) in
    files dvc.yaml lists one by one as its deps; so dvc.yaml's per-stage deps miss nothing."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    edges = graph()
    entries = {"ingest": ["pcnstudy.ingest.stage", "pcnstudy.ingest.figures"],
               "scores": ["pcnstudy.scores.stage"], "themes": ["pcnstudy.themes.stage"],
               "paper": ["pcnstudy.paper.manuscript"], "twin": ["pcnstudy.twin.command"]}
    for stage, modules in entries.items():
        deps = set(stages[stage]["deps"])
        for module in modules:
            outside = sorted(m for m in closure(module, edges)
                             if subpackage(m) not in {stage, "core"} and m != "pcnstudy"
                             and module_file(m) not in deps)
            assert not outside, f"the {stage} stage ({module}) imports {outside}"
