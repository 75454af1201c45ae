"""The benchmark harness: measuring child processes, fitting growth, scaling a study, the report.

No timed assertions: the figures depend on the machine. What is checked is that the
harness measures what it says (a child that holds 80 MiB is seen holding at least that
much; a grandchild's memory is charged to its stage), that the growth fit recovers a
known exponent, and that scaling a simulation config keeps its exact counts consistent.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pcnstudy.bench import scenarios as bench
from pcnstudy.bench.child_stages import run_child_stage, run_child_stages
from pcnstudy.bench.dvc_runs import notebook_commands, one_paragraph_paper, stage_keys_from_dvc, touch_notebook, trim_notebook
from pcnstudy.bench.measure import POLL_INTERVAL_S, Measurement, run_measured
from pcnstudy.bench.report import budgets_status, cold_over_floor, format_budgets, format_table, write_report
from pcnstudy.bench.report import throughput_line
from pcnstudy.bench.throughput import TOKENISING, summarise_runs
from pcnstudy.bench.scaled_studies import exponents_with_national, fit_exponent, scale_simulation_config
from pcnstudy.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXPONENT_TOL = 1e-9
HOLD_MIB = 80
# A page of memory per 4 KiB written; the interpreter itself adds ~10 MiB, so seeing
# the held block at 90% of its size is a safe lower bound on any Linux.
RSS_FRACTION = 0.9

CHILD = """
import subprocess, sys, time
if len(sys.argv) > 1 and sys.argv[1] == "grandchild-stage":
    block = bytearray({mib} * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(0.6)
else:
    subprocess.run([sys.executable, __file__, "grandchild-stage"], check=True)
    time.sleep(0.2)
    sys.exit({code})
"""


def write_child(tmp_path: Path, code: int = 0) -> Path:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(mib=HOLD_MIB, code=code), encoding="utf-8")
    return script


def test_run_measured_charges_a_grandchilds_memory_to_its_stage(tmp_path):
    whole, stages = run_measured([sys.executable, str(write_child(tmp_path))],
                                 stage_keys={"big": "grandchild-stage"})
    assert whole.returncode == 0
    assert whole.peak_rss_mib >= HOLD_MIB * RSS_FRACTION
    assert list(stages) == ["big"]
    assert stages["big"].peak_rss_mib >= HOLD_MIB * RSS_FRACTION
    assert 0 < stages["big"].wall_s <= whole.wall_s + POLL_INTERVAL_S


def test_run_measured_reports_the_exit_code_and_keeps_the_log(tmp_path):
    log = tmp_path / "out.log"
    whole, _ = run_measured([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], log=log)
    assert whole.returncode == 3
    assert "hello" in log.read_text()


def test_fit_exponent_recovers_known_powers():
    sizes = [100, 400, 1600]
    assert fit_exponent(sizes, [2.0 * s for s in sizes]) == pytest.approx(1.0, abs=EXPONENT_TOL)
    assert fit_exponent(sizes, [0.01 * s**2 for s in sizes]) == pytest.approx(2.0, abs=EXPONENT_TOL)
    assert fit_exponent(sizes, [5.0, 5.0, 5.0]) == pytest.approx(0.0, abs=EXPONENT_TOL)
    with pytest.raises(ValueError, match="two"):
        fit_exponent([1], [1])


def test_scale_simulation_config_scales_every_exact_count():
    config = yaml.safe_load((ROOT / "config" / "simulation.yml").read_text())
    scaled = scale_simulation_config(config, 4)
    for cohort, spec in config["cohorts"].items():
        big = scaled["cohorts"][cohort]
        assert big["n_respondents"] == 4 * spec["n_respondents"]
        assert big["pcns"] == spec["pcns"]
        for key in ("respond", "join_at", "roles_fixed"):
            for name, value in (spec.get(key) or {}).items():
                assert big[key][name] == 4 * value
        if "roles_fixed" in spec:
            assert sum(big["roles_fixed"].values()) == big["n_respondents"] + sum((big.get("join_at") or {}).values())
    # the original is left as it was
    assert config["cohorts"]["llr_cd"]["n_respondents"] == 38
    with pytest.raises(ValueError):
        scale_simulation_config(config, 0)


def test_scale_simulation_config_scales_exact_yes_counts():
    config = {"cohorts": {"x": {"n_respondents": 10, "respond": {"end": 8},
                                "waves": {"end": {"feedback": {"a": {"count": 7}, "b": {"p": 0.5},
                                                               "c": {"count": "all"}}}},
                                "interviews": {"n": 3}}}}
    big = scale_simulation_config(config, 16)["cohorts"]["x"]
    assert big["respond"] == {"end": 128}
    assert big["waves"]["end"]["feedback"] == {"a": {"count": 112}, "b": {"p": 0.5}, "c": {"count": "all"}}
    assert big["interviews"]["n"] == 48


def test_national_config_describes_every_pcn_in_england():
    config = yaml.safe_load((ROOT / "config" / "simulation-national.yml").read_text())
    cohorts = config["cohorts"]
    pcns = [p for spec in cohorts.values() for p in spec["pcns"]]
    assert len(pcns) == len(set(pcns)) == 1250
    assert sum(spec["n_respondents"] for spec in cohorts.values()) == 25000
    for spec in cohorts.values():
        assert list(spec["waves"]) == ["baseline", "mid", "end"]
    assert (ROOT / "config" / config["phrases"]).is_file()


def test_touch_notebook_changes_bytes_but_not_code(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["x = 1"], "metadata": {}},
                    {"cell_type": "markdown", "source": ["# Title"], "metadata": {}}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    before = path.read_bytes()
    touch_notebook(path)
    after = json.loads(path.read_text())
    assert path.read_bytes() != before
    assert after["cells"][0]["source"] == ["x = 1"]
    assert after["cells"][1]["source"] == ["# Title "]


def test_stage_keys_identify_each_stage_command(tmp_path):
    dvc = {"stages": {"ingest": {"cmd": "pcnstudy notebook 01_ingest -p raw_dir=${ingest.raw_dir}"},
                      "paper": {"cmd": "pcnstudy paper"}}}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    assert stage_keys_from_dvc(tmp_path / "dvc.yaml") == {"ingest": "notebook 01_ingest", "paper": "paper"}


def test_child_stage_failure_is_reported_with_its_log(tmp_path):
    m = run_child_stage("nonexistent", {"root": str(ROOT)}, tmp_path, "t")
    assert m.returncode == 2
    assert "unknown stage 'nonexistent'" in m.extra["log"]


def test_tiny_study_through_the_child_stages(tmp_path):
    """simulate and ingest of one small cohort, each in its own measured child process."""
    config = yaml.safe_load((ROOT / "config" / "simulation.yml").read_text())
    config["cohorts"] = {"ss_als": config["cohorts"]["ss_als"]}
    config["phrases"] = str(ROOT / "config" / config["phrases"])
    cfg = tmp_path / "simulation.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    sim = run_child_stage("simulate", {"config": str(cfg), "out": str(tmp_path / "raw"),
                                       "truth": str(tmp_path / "truth"), "root": str(ROOT)}, tmp_path, "tiny")
    assert sim.returncode == 0, sim.extra.get("log")
    assert (tmp_path / "raw" / "ss_als" / "cohort.yml").is_file()
    rows = run_child_stages(ROOT, tmp_path / "raw", tmp_path / "processed", tmp_path, "tiny", stages=("ingest",))
    assert [m.stage for m in rows] == ["ingest"]
    assert rows[0].returncode == 0, rows[0].extra.get("log")
    assert rows[0].extra["rows"]["feedback"] > 0 and rows[0].extra["rows"]["ratings"] == 0
    assert rows[0].peak_rss_mib > 0 and rows[0].extra["inner_s"] <= rows[0].wall_s


def test_report_table_and_budgets(tmp_path):
    rows = [Measurement("cold", "ingest", 4.0, 300.0), Measurement("cold", "total", 25.0, 400.0),
            Measurement("noop", "total", 2.5, 150.0), Measurement("national", "ingest", 60.0, 900.0),
            Measurement("national", "scores", 50.0, 1200.0), Measurement("national", "themes", 80.0, 3000.0)]
    status = budgets_status(rows, {"ratio": 1.6})
    assert status["cold_total_s"] == {"goal": 30.0, "reached": 25.0, "status": "met"}
    assert status["noop_total_s"]["status"] == "missed"
    assert status["national_total_s"]["reached"] == 190.0
    assert status["national_total_s"]["status"] == "missed"
    assert status["national_peak_rss_mib"]["reached"] == 3000.0
    assert status["theme_vs_gensim_ratio"]["status"] == "met"
    assert budgets_status(rows, {"ratio": 1.4})["theme_vs_gensim_ratio"]["status"] == "missed"  # goal 1.5
    assert budgets_status(rows[:1], None)["noop_total_s"]["status"] == "not measured"
    table = format_table(rows)
    assert "national" in table and "3000.0" in table
    path = write_report({"rows": [r.__dict__ for r in rows], "budgets": status}, tmp_path / "bench.json")
    assert json.loads(path.read_text())["budgets"]["cold_total_s"]["status"] == "met"


def test_unknown_scenario_is_a_usage_error(tmp_path, capsys):
    assert bench.bench_command(["warp"], out=tmp_path / "b.json") == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_cli_bench_passes_its_scenarios_on(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--only", "warp", "--out", str(tmp_path / "b.json")])
    assert result.exit_code == 2 and "unknown scenario(s): warp" in result.output
    assert not (tmp_path / "b.json").exists()


def test_exponents_with_national_use_the_largest_two_sizes():
    growth = [Measurement("growth_x1", "scores", 10.0, 1.0, extra={"size": 100}),
              Measurement("growth_x16", "scores", 20.0, 1.0, extra={"size": 1600})]
    national = [Measurement("national", "scores", 320.0, 1.0, extra={"size": 25600})]
    got = exponents_with_national(growth, national)["scores"]
    assert got["largest_two"] == pytest.approx(1.0, abs=1e-3)  # 16x the size, 16x the time
    assert 0 < got["fit"] < 1.0


def notebook_of(cells: list[tuple[str, str, list[str]]]) -> dict:
    """A notebook from (cell type, source, tags) triples."""
    return {"cells": [{"cell_type": kind, "source": source, "metadata": {"tags": tags} if tags else {},
                       **({"outputs": [{"output_type": "stream", "name": "stdout", "text": "old"}],
                           "execution_count": 3} if kind == "code" else {})}
                      for kind, source, tags in cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_trim_notebook_keeps_the_cells_up_to_the_imports(tmp_path):
    nb = notebook_of([("markdown", "# Title", []), ("code", "alpha = None", ["parameters"]),
                      ("markdown", "The settings.", []), ("code", "%matplotlib inline", []),
                      ("code", "import pandas as pd\nfrom pcnstudy.core import paths\nx = paths.ROOT", []),
                      ("markdown", "## Read", []), ("code", "inputs = read_inputs()", []),
                      ("code", "import numpy as np", [])])
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    assert trim_notebook(path) == 3
    kept = json.loads(path.read_text())["cells"]
    assert [c["source"] for c in kept] == ["# Title", "alpha = None", "The settings.", "%matplotlib inline",
                                           "import pandas as pd\nfrom pcnstudy.core import paths\nx = paths.ROOT"]
    assert kept[1]["metadata"]["tags"] == ["parameters"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in kept if c["cell_type"] == "code")


def test_trim_notebook_without_imports_is_an_error(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook_of([("code", "alpha = None", ["parameters"]), ("code", "x = 1", [])])))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="no code cell imports anything"):
        trim_notebook(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["01_ingest", "02_scores", "03_themes"])
def test_trimmed_stage_notebooks_keep_parameters_and_imports_only(tmp_path, name):
    path = tmp_path / f"{name}.ipynb"
    path.write_bytes((ROOT / "notebooks" / f"{name}.ipynb").read_bytes())
    total = len(json.loads(path.read_text())["cells"])
    dropped = trim_notebook(path)
    kept = json.loads(path.read_text())["cells"]
    assert dropped > 0 and len(kept) + dropped == total
    assert any("parameters" in c["metadata"].get("tags", []) for c in kept)
    assert "import " in "".join(kept[-1]["source"])


def test_notebook_commands_are_dvc_yamls_with_params_put_in(tmp_path):
    dvc = {"stages": {
        "ingest": {"cmd": "pcnstudy notebook 01_ingest\n-p raw_dir=${ingest.raw_dir} -p \"key_file=${ingest.key}\""},
        "scores": {"cmd": "pcnstudy notebook 02_scores -p alpha=${scores.alpha} -p flag=${scores.flag}"},
        "paper": {"cmd": "pcnstudy paper --formats ${paper.formats}"}}}
    params = {"ingest": {"raw_dir": "data/raw", "key": "~/a key"},
              "scores": {"alpha": 0.05, "flag": True}, "paper": {"formats": "html,pdf"}}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    got = notebook_commands(tmp_path / "dvc.yaml", tmp_path / "params.yaml", ("01_ingest", "02_scores"))
    assert got == {"ingest": ["pcnstudy", "notebook", "01_ingest", "-p", "raw_dir=data/raw", "-p", "key_file=~/a key"],
                   "scores": ["pcnstudy", "notebook", "02_scores", "-p", "alpha=0.05", "-p", "flag=true"]}
    with pytest.raises(ValueError, match="03_themes"):
        notebook_commands(tmp_path / "dvc.yaml", tmp_path / "params.yaml")
    params["scores"].pop("alpha")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(KeyError, match="scores.alpha"):
        notebook_commands(tmp_path / "dvc.yaml", tmp_path / "params.yaml", ("02_scores",))


def test_the_projects_notebook_commands_run_every_stage_notebook():
    got = notebook_commands(ROOT / "dvc.yaml", ROOT / "params.yaml")
    assert {argv[2] for argv in got.values()} == {"01_ingest", "02_scores", "03_themes"}
    assert all("${" not in word for argv in got.values() for word in argv)


def test_one_paragraph_paper_keeps_the_front_matter_and_files(tmp_path):
    paper = one_paragraph_paper(ROOT / "paper", tmp_path / "paper")
    text = (paper / "index.qmd").read_text()
    front = (ROOT / "paper" / "index.qmd").read_text().split("---\n", 2)[1]
    assert text.startswith(f"---\n{front}---\n")
    body = text.split("---\n", 2)[2].strip()
    assert body and "\n\n" not in body and "{{<" not in body and "#" not in body
    for name in ("_quarto.yml", "references.bib", "vancouver.csl", "style.css", "_study.yml"):
        assert (paper / name).is_file(), name


def test_cold_over_floor_ratio_and_its_budget_row():
    rows = [Measurement("cold", "total", 30.0, 400.0), Measurement("floor", "ingest", 5.0, 200.0),
            Measurement("floor", "paper", 15.0, 300.0), Measurement("floor", "total", 20.0, 300.0)]
    assert cold_over_floor(rows) == {"cold_s": 30.0, "floor_s": 20.0, "ratio": 1.5}
    status = budgets_status(rows, None)
    assert status["cold_over_floor_ratio"] == {"goal": 1.5, "reached": 1.5, "status": "met"}
    rows[0].wall_s = 31.0
    assert budgets_status(rows, None)["cold_over_floor_ratio"]["status"] == "missed"
    printed = format_budgets(budgets_status(rows, None))
    assert re.search(r"^  cold / floor +goal +<= 1\.5 +reached +1\.55 +missed$", printed, re.M), printed
    assert ">= 1.5" in printed  # the throughput budget is met at or above its goal
    rows[-1].returncode = 1
    assert cold_over_floor(rows) is None
    assert budgets_status(rows, None)["cold_over_floor_ratio"]["status"] == "not measured"
    assert cold_over_floor(rows[1:]) is None


def test_floor_runs_straight_after_cold_and_the_report_has_the_ratio(tmp_path, monkeypatch, capsys):
    """run_benchmarks with fake scenario runners: order, scenarios passed on, report and printed table."""
    calls = []

    def fake_dvc(root, work, touch=None, scenarios=()):
        calls.append(("dvc", sorted(scenarios)))
        return [Measurement("cold", "total", 30.0, 400.0)]

    def fake_floor(root, work):
        calls.append(("floor", None))
        return [Measurement("floor", "ingest", 8.0, 200.0), Measurement("floor", "total", 24.0, 300.0)]

    monkeypatch.setattr(bench, "bench_dvc", fake_dvc)
    monkeypatch.setattr(bench, "bench_floor", fake_floor)
    assert "floor" in bench.SCENARIOS
    assert bench.bench_command(["cold", "floor"], out=tmp_path / "b.json", work=tmp_path / "w") == 0
    assert calls == [("dvc", ["cold", "floor"]), ("floor", None)]
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["cold_over_floor"] == {"cold_s": 30.0, "floor_s": 24.0, "ratio": 1.25}
    assert report["budgets"]["cold_over_floor_ratio"]["status"] == "met"
    printed = capsys.readouterr().out
    assert "cold / floor: 30.00 s / 24.00 s = 1.25" in printed
    assert re.search(r"^  cold / floor +goal +<= 1\.5 +reached +1\.25 +met$", printed, re.M), printed
    calls.clear()
    report = bench.run_benchmarks(["floor"], work=tmp_path / "w2")
    assert calls == [("floor", None)] and report["cold_over_floor"] is None


def test_throughput_summary_charges_tokenising_to_both_and_reports_the_spread():
    runs = [{"theme_s": 4.0, "tokenise_s": 1.0, "gensim_s": 5.0, "theme_cpu_s": 4.0, "tokenise_cpu_s": 1.0, "gensim_cpu_s": 5.0},
            {"theme_s": 5.0, "tokenise_s": 1.5, "gensim_s": 6.0, "theme_cpu_s": 4.0, "tokenise_cpu_s": 1.0, "gensim_cpu_s": 4.6},
            {"theme_s": 3.0, "tokenise_s": 1.0, "gensim_s": 5.6, "theme_cpu_s": 3.0, "tokenise_cpu_s": 1.0, "gensim_cpu_s": 5.0}]
    t = summarise_runs(runs, 1000)
    # per run: gensim with its tokenising over the theme model: 1.5, 1.5, 2.2
    assert (t["ratio"], t["ratio_min"], t["ratio_max"]) == (1.5, 1.5, 2.2)
    assert t["ratio_cpu"] == 1.5 and t["ratio_gensim_without_tokenising"] == 1.25
    assert t["gensim_with_tokenising_s"] == 6.6 and t["theme_s"] == 4.0 and t["tokenising"] == TOKENISING
    assert t["theme_docs_per_s"] == 250.0 and t["gensim_docs_per_s"] == round(1000 / 6.6, 1) and t["repeats"] == 3
    line = throughput_line({**t, "n_topics": 11})
    assert "ratio 1.50 (min 1.50, max 2.20 over 3 runs)" in line and "charged to both" in line and "11 topics" in line
    assert "thread" not in line
    assert "classifiers in 2 thread(s)" in throughput_line({**t, "n_topics": 11, "theme_solver_threads": 2})


def test_the_reported_solver_threads_are_the_blocks_the_cpus_allow(monkeypatch):
    import pcnstudy.bench.throughput as throughput

    monkeypatch.setattr(throughput, "usable_cpus", lambda: 1)
    assert throughput.solver_threads() == 1
    monkeypatch.setattr(throughput, "usable_cpus", lambda: 8)
    assert throughput.solver_threads() == throughput.BLOCKS


def test_throughput_alone_simulates_and_ingests_only(tmp_path, monkeypatch):
    calls = []

    def fake_national(root, work, config=None, stages=("ingest", "scores", "themes")):
        calls.append(tuple(stages))
        return [Measurement("national", s, 1.0, 10.0) for s in stages], tmp_path / "nowhere"

    monkeypatch.setattr(bench, "bench_national", fake_national)
    bench.run_benchmarks(["throughput"], work=tmp_path / "w")
    bench.run_benchmarks(["national", "throughput"], work=tmp_path / "w2")
    assert calls == [("ingest",), ("ingest", "scores", "themes")]
