"""Each broken export in tests/data/bad/ is reported at its file, row and column, and nothing is lost."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import MAX_TEXT_CHARS, ingest_cohort
from pcnstudy.ingest.commands import ingest_study, validate_command
from pcnstudy.ingest.pseudonym import DEMO_KEY

BAD = Path(__file__).parent / "data" / "bad"
SPECS = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))
INSTRUMENT = load_yaml(paths.INSTRUMENT)


def run_validate(folder: Path) -> tuple[int, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = validate_command(folder)
    return code, buffer.getvalue()


def test_corpus_has_at_least_30_kinds():
    assert len({spec["kind"] for spec in SPECS}) >= 30
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for spec in SPECS:
        assert f"| {spec['kind']} |" in readme


@pytest.mark.parametrize("spec", SPECS, ids=[s["kind"] for s in SPECS])
def test_bad_export_reported_at_file_row_column(spec):
    code, out = run_validate(BAD / spec["kind"])
    assert code == 1, out
    prefix = f"{spec['file']}:{spec['row']}:{spec['column']}:"
    lines = [line for line in out.splitlines() if line.startswith(prefix)]
    assert lines, f"no line starting {prefix!r} in:\n{out}"
    assert any(spec["words"] in line for line in lines), out


@pytest.mark.parametrize("spec", SPECS, ids=[s["kind"] for s in SPECS])
def test_bad_export_loses_no_row(spec):
    data = ingest_cohort(BAD / spec["kind"], DEMO_KEY, INSTRUMENT)
    assert sum(s.rows_read for s in data.files.values()) == spec["rows_read"]
    for rel, stats in data.files.items():
        assert stats.rows_read == stats.rows_kept + stats.rows_quarantined, rel


def test_whole_corpus_ingests_with_every_row_accounted(tmp_path):
    cohorts = [spec["kind"] for spec in SPECS]
    result = ingest_study(BAD, tmp_path, cohorts=cohorts, key=DEMO_KEY, params={})
    report = json.loads((tmp_path / "ingest_report.json").read_text())
    assert report["rows_unaccounted"] == 0
    totals = report["totals"]
    assert totals["rows_read"] == sum(spec["rows_read"] for spec in SPECS)
    assert totals["rows_read"] == totals["rows_kept"] + totals["rows_quarantined"]
    quarantine = (tmp_path / "quarantine.csv").read_text(encoding="utf-8")
    # formula-looking text is neutralised in every CSV written
    assert "'=HYPERLINK" in quarantine and "\n=HYPERLINK" not in quarantine
    texts = (tmp_path / "texts.csv").read_text(encoding="utf-8")
    assert "'+cmd" in texts and "'@SUM" in texts and "'-2+3" in texts
    assert "\r\n" not in texts
    # the long answer is truncated to the documented maximum
    assert result.texts["text"].str.len().max() <= MAX_TEXT_CHARS
    # set-aside raw lines (which hold ids) never reach quarantine.csv
    assert "P004,West PCN" not in quarantine


def test_usage_errors_exit_2(tmp_path):
    assert run_validate(tmp_path / "nowhere")[0] == 2
    (tmp_path / "c").mkdir()
    assert run_validate(tmp_path / "c")[0] == 2  # no cohort.yml
    (tmp_path / "c" / "cohort.yml").write_text("cohort: [unclosed\n")
    assert run_validate(tmp_path / "c")[0] == 2  # not YAML
    (tmp_path / "c" / "cohort.yml").write_text("cohort: c\nwaves: [baseline]\n")
    assert run_validate(tmp_path / "c")[0] == 2  # files and columns missing


def test_unmapped_column_is_a_warning_only(tmp_path):
    folder = tmp_path / "extra_col"
    shutil.copytree(BAD / "likert_zero", folder)
    text = (folder / "cohort.yml").read_text().replace("likert_zero", "extra_col")
    (folder / "cohort.yml").write_text(text)
    lines = (folder / "baseline.csv").read_text().splitlines()
    lines = [lines[0] + ",Start time"] + [line.replace(",0,", ",4,") + ",09:00" for line in lines[1:]]
    (folder / "baseline.csv").write_text("\n".join(lines) + "\n")
    code, out = run_validate(folder)
    assert code == 0, out
    assert "extra_col/baseline.csv:1:Start time: warning" in out
