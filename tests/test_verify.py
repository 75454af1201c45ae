"""pcnstudy verify's comparisons, on small hand-made runs."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import yaml
from matplotlib import image

from pcnstudy.verify.rerun import compare_runs, first_differing_rows, images_close, lock_outputs, tables_close


def write_lock(root, outs):
    stages = {}
    for stage, path in outs:
        md5 = hashlib.md5((root / path).read_bytes()).hexdigest()
        stages.setdefault(stage, {"cmd": "x", "outs": []})["outs"].append({"path": path, "md5": md5})
    (root / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))


def make_run(root, table, picture):
    (root / "data").mkdir(parents=True)
    table.to_csv(root / "data/t.csv", index=False)
    image.imsave(root / "data/f.png", picture)
    write_lock(root, [("scores", "data/t.csv"), ("scores", "data/f.png")])


def test_identical_runs_are_all_same(tmp_path):
    table = pd.DataFrame({"item": ["a", "b"], "x": [1.0, 2.0]})
    pic = np.zeros((8, 8))
    make_run(tmp_path / "a", table, pic)
    make_run(tmp_path / "b", table, pic)
    rows = compare_runs(tmp_path / "a", tmp_path / "b")
    assert [r.same for r in rows] == [True, True]
    assert lock_outputs(tmp_path / "a/dvc.lock")[("scores", "data/t.csv")] == rows[1].expected


def test_a_changed_table_is_named_with_its_first_differing_row(tmp_path):
    make_run(tmp_path / "a", pd.DataFrame({"item": ["a", "b"], "x": [1.0, 2.0]}), np.zeros((8, 8)))
    make_run(tmp_path / "b", pd.DataFrame({"item": ["a", "b"], "x": [1.0, 2.5]}), np.zeros((8, 8)))
    rows = {r.output: r for r in compare_runs(tmp_path / "a", tmp_path / "b")}
    assert not rows["data/t.csv"].same
    assert "row 3" in rows["data/t.csv"].detail and "2.0" in rows["data/t.csv"].detail
    assert rows["data/f.png"].same


def test_tolerant_mode_accepts_rounding_noise_only(tmp_path):
    a = pd.DataFrame({"x": [1.0, 2.0]})
    a.to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"x": [1.0, 2.0 * (1 + 1e-12)]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"x": [1.0, 2.0 * (1 + 1e-6)]}).to_csv(tmp_path / "c.csv", index=False)
    assert tables_close(tmp_path / "a.csv", tmp_path / "b.csv")
    assert not tables_close(tmp_path / "a.csv", tmp_path / "c.csv")
    assert "row 3" in first_differing_rows(tmp_path / "a.csv", tmp_path / "c.csv")


def test_images_compare_perceptually(tmp_path):
    base = np.linspace(0, 1, 64).reshape(8, 8)
    image.imsave(tmp_path / "a.png", base, cmap="gray")
    image.imsave(tmp_path / "b.png", base, cmap="gray")
    noisy = base.copy()
    noisy[0, 0] = min(1.0, noisy[0, 0] + 0.01)
    image.imsave(tmp_path / "c.png", noisy, cmap="gray")
    image.imsave(tmp_path / "d.png", 1 - base, cmap="gray")
    assert images_close(tmp_path / "a.png", tmp_path / "b.png")
    assert images_close(tmp_path / "a.png", tmp_path / "c.png")
    assert not images_close(tmp_path / "a.png", tmp_path / "d.png")
