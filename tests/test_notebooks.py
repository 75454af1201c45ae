"""The stage-notebook runner: parameters from the command line, volatile metadata removed."""
import nbformat
import pytest

from pcnstudy.core.notebooks import notebook_command, parse_param_pairs, strip_volatile


def test_parse_param_pairs_reads_values_as_yaml():
    got = parse_param_pairs(["alpha=0.05", "free_topics=auto", "formats=[html, pdf]", "n=3", "empty="])
    assert got == {"alpha": 0.05, "free_topics": "auto", "formats": ["html", "pdf"], "n": 3, "empty": ""}


def test_parse_param_pairs_rejects_a_bare_word():
    with pytest.raises(ValueError, match="not key=value"):
        parse_param_pairs(["alpha"])


def test_strip_volatile_removes_timings_but_keeps_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.metadata["papermill"] = {"duration": 0.1, "start_time": "2026-01-01"}
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01"}
    cell.metadata["tags"] = ["parameters"]
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells.append(cell)
    nb.metadata["papermill"] = {"start_time": "now"}
    strip_volatile(nb)
    assert "papermill" not in nb.metadata
    assert set(nb.cells[0].metadata) == {"tags"}
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "2"


def test_strip_volatile_fixes_the_injected_cells_random_id():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("alpha = 0.1")
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.append(cell)
    other = nbformat.v4.new_code_cell("x = 1")
    original_id = other["id"]
    nb.cells.append(other)
    strip_volatile(nb)
    assert nb.cells[0]["id"] == "injected-parameters"
    assert nb.cells[1]["id"] == original_id


def test_a_failing_notebook_is_one_line_naming_cell_and_error(tmp_path, capsys):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("path = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise ValueError(f'{path}:3:Q1: not on the scale')")]
    nbformat.write(nb, tmp_path / "notebooks" / "fails.ipynb")
    assert notebook_command("fails", {"path": "data/raw/c/end.csv"}, root=tmp_path) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    # [3]: the parameters cell, papermill's injected cell, then the failing one, as In [3] in the notebook
    assert "cell [3] raised ValueError: data/raw/c/end.csv:3:Q1: not on the scale" in err[0]
    assert "reports/fails.ipynb" in err[0] and (tmp_path / "reports" / "fails.ipynb").is_file()
    assert notebook_command("absent", {}, root=tmp_path) == 2
