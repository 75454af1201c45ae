"""Agreement statistics against independent answers (tests/results/agreement.json)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from nltk.metrics.agreement import AnnotationTask
from sklearn.metrics import cohen_kappa_score, f1_score, precision_score, recall_score

from pcnstudy.themes.agreement import (
    TABLE_COLUMNS,
    agreement_table,
    codes_to_matrix,
    cohen_kappa,
    krippendorff_alpha_nominal,
    learning_curve,
    matrix_to_codes,
    multilabel_agreement,
    sample_per_label,
    summarise_agreement,
)

REF = json.loads((Path(__file__).parent / "results" / "agreement.json").read_text())
TOL_IMPL = REF["tolerance_implementation"]
TOL_BOOK = REF["tolerance_textbook"]


def _ratings_from_2x2(cell: dict) -> tuple[list[int], list[int]]:
    a, b = [], []
    for (x, y), key in {(1, 1): "yes_yes", (1, 0): "yes_no", (0, 1): "no_yes", (0, 0): "no_no"}.items():
        a += [x] * cell[key]
        b += [y] * cell[key]
    return a, b


@pytest.mark.parametrize("cell", REF["cohen_2x2"])
def test_cohen_kappa_textbook_and_sklearn(cell):
    a, b = _ratings_from_2x2(cell)
    ours = cohen_kappa(a, b)
    assert ours == pytest.approx(cell["kappa"], abs=TOL_BOOK)
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=TOL_IMPL)


def test_cohen_kappa_undefined_without_variation():
    assert math.isnan(cohen_kappa([0, 0, 0], [0, 0, 0]))
    assert cohen_kappa([0, 1, 0], [0, 1, 0]) == pytest.approx(1.0)


def _kripp_data():
    return np.array(REF["krippendorff_2011"]["data"], dtype=float)


def test_alpha_published_example():
    ref = REF["krippendorff_2011"]
    ours = krippendorff_alpha_nominal(_kripp_data())
    assert ours == pytest.approx(ref["alpha_nominal"], abs=ref["tolerance_published"])


def test_alpha_matches_krippendorff_package_and_nltk():
    data = _kripp_data()
    ours = krippendorff_alpha_nominal(data)
    package = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    triples = [(c, u, v) for c, row in enumerate(data) for u, v in enumerate(row) if not np.isnan(v)]
    nltk_alpha = AnnotationTask(data=triples).alpha()
    assert ours == pytest.approx(package, abs=TOL_IMPL)
    assert ours == pytest.approx(nltk_alpha, abs=TOL_IMPL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alpha_binary_two_coders_matches_package(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, 60)
    b = np.where(rng.random(60) < 0.8, a, 1 - a)
    ours = krippendorff_alpha_nominal(np.vstack([a, b]))
    package = krippendorff.alpha(reliability_data=np.vstack([a, b]).astype(float), level_of_measurement="nominal")
    assert ours == pytest.approx(package, abs=TOL_IMPL)


def _codes(rows):
    return pd.DataFrame(rows, columns=["id", "theme"])


def test_agreement_table_counts_and_sklearn():
    rng = np.random.default_rng(5)
    ids = [f"d{i:03d}" for i in range(80)]
    themes = ["trust", "time", "mdt"]
    gold = rng.random((80, 3)) < 0.3
    pred = np.where(rng.random((80, 3)) < 0.85, gold, ~gold)
    g = _codes([(i, t) for k, i in enumerate(ids) for j, t in enumerate(themes) if gold[k, j]])
    p = _codes([(i, t) for k, i in enumerate(ids) for j, t in enumerate(themes) if pred[k, j]])
    table = agreement_table(p, g, themes, ids=ids)
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["theme"]) == themes
    for j, row in table.iterrows():
        assert row["n_docs"] == 80
        assert row["n_gold"] == gold[:, j].sum()
        assert row["tp"] + row["fn"] == row["n_gold"]
        assert row["precision"] == pytest.approx(precision_score(gold[:, j], pred[:, j]), abs=TOL_IMPL)
        assert row["recall"] == pytest.approx(recall_score(gold[:, j], pred[:, j]), abs=TOL_IMPL)
        assert row["f1"] == pytest.approx(f1_score(gold[:, j], pred[:, j]), abs=TOL_IMPL)
        assert row["kappa"] == pytest.approx(cohen_kappa_score(gold[:, j], pred[:, j]), abs=TOL_IMPL)
        expected_alpha = krippendorff.alpha(
            reliability_data=np.vstack([pred[:, j], gold[:, j]]).astype(float), level_of_measurement="nominal"
        )
        assert row["alpha"] == pytest.approx(expected_alpha, abs=TOL_IMPL)
    summary = summarise_agreement(table, min_support=5)
    assert summary["mean_kappa"] == pytest.approx(table["kappa"].mean())
    assert summary["micro_f1"] == pytest.approx(f1_score(gold, pred, average="micro"), abs=TOL_IMPL)
    assert summary["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"), abs=TOL_IMPL)
    assert summary["n_themes_supported"] == 3


def test_uncoded_ids_count_as_no_theme_and_assigned_column_is_honoured():
    gold = _codes([("a", "x"), ("b", "x")])
    pred = pd.DataFrame({"id": ["a", "b", "c"], "theme": ["x", "x", "x"], "assigned": [1, 0, 1]})
    table = agreement_table(pred, gold, ["x", "y"], ids=["a", "b", "c", "d"])
    x = table.set_index("theme").loc["x"]
    assert (x["tp"], x["fp"], x["fn"], x["n_pred"]) == (1, 1, 1, 2)
    y = table.set_index("theme").loc["y"]
    assert y["n_gold"] == 0 and math.isnan(y["kappa"]) and math.isnan(y["recall"])


def test_summary_excludes_rare_themes():
    table = pd.DataFrame({
        "theme": ["a", "b"], "n_gold": [10, 2], "tp": [8, 1], "fp": [2, 0], "fn": [2, 1],
        "f1": [0.8, 2 / 3], "kappa": [0.7, 0.1], "alpha": [0.69, 0.05],
    })
    summary = summarise_agreement(table, min_support=5)
    assert summary["mean_kappa"] == pytest.approx(0.7)
    assert summary["n_themes_supported"] == 1
    assert summary["micro_precision"] == pytest.approx(9 / 11)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="pred: missing column"):
        agreement_table(pd.DataFrame({"id": ["a"]}), _codes([("a", "x")]), ["x"])


def test_matrix_round_trip():
    codes = _codes([("b", "y"), ("a", "x"), ("a", "y")])
    matrix = codes_to_matrix(codes, ["a", "b", "c"], ["x", "y"])
    assert matrix.loc["c"].sum() == 0
    back = matrix_to_codes(matrix)
    assert back.values.tolist() == [["a", "x"], ["a", "y"], ["b", "y"]]


def test_multilabel_masi():
    themes = ["x", "y", "z"]
    gold = _codes([("a", "x"), ("a", "y"), ("b", "z"), ("c", "x")])
    same = multilabel_agreement(gold, gold, themes, ids=["a", "b", "c", "d"])
    assert same["alpha_masi"] == pytest.approx(1.0)
    assert same["exact_match"] == 1.0 and same["mean_jaccard"] == 1.0
    pred = _codes([("a", "x"), ("b", "z"), ("d", "y")])
    part = multilabel_agreement(pred, gold, themes, ids=["a", "b", "c", "d"])
    # a: {x} vs {x,y} -> 1/2; b: 1; c: {} vs {x} -> 0; d: {y} vs {} -> 0
    assert part["mean_jaccard"] == pytest.approx(1.5 / 4)
    assert part["exact_match"] == pytest.approx(0.25)
    assert part["alpha_masi"] < same["alpha_masi"]


def _gold_corpus():
    rng = np.random.default_rng(11)
    ids = [f"d{i:03d}" for i in range(200)]
    themes = ["a", "b", "c"]
    rows = [(i, t) for i in ids for t, p in zip(themes, (0.4, 0.2, 0.05)) if rng.random() < p]
    return ids, themes, _codes(rows)


def test_sample_per_label_reaches_k_per_theme():
    ids, themes, gold = _gold_corpus()
    available = gold.groupby("theme")["id"].nunique()
    drawn = sample_per_label(gold, themes, k=10, seed=3)
    assert drawn == sorted(set(drawn))
    counts = gold[gold["id"].isin(drawn)].groupby("theme")["id"].nunique()
    for theme in themes:
        assert counts[theme] >= min(10, available[theme])
    assert sample_per_label(gold, themes, k=10, seed=3) == drawn
    assert sample_per_label(gold, themes, k=10, seed=4) != drawn


def test_learning_curve_with_oracle_and_disjoint_splits():
    ids, themes, gold = _gold_corpus()
    seen = []

    def oracle(train_ids, train_codes, test_ids):
        assert not set(train_ids) & set(test_ids)
        assert set(train_codes["id"]) <= set(train_ids)
        seen.append(len(train_ids))
        return gold[gold["id"].isin(test_ids)]

    curve = learning_curve(oracle, gold, themes, ids, sizes=(5, 20), seed=1, n_repeats=2)
    assert curve[["size", "repeat"]].values.tolist() == [[5, 0], [5, 1], [20, 0], [20, 1]]
    assert (curve["n_train"] + curve["n_test"] == len(ids)).all()
    assert curve["mean_kappa"].tolist() == pytest.approx([1.0] * 4)
    assert curve.loc[curve["size"] == 20, "n_train"].min() > curve.loc[curve["size"] == 5, "n_train"].max()

    def nothing(train_ids, train_codes, test_ids):
        return _codes([])

    empty = learning_curve(nothing, gold, themes, ids, sizes=(5,), seed=1, n_repeats=1)
    assert empty["micro_recall"].iloc[0] == 0.0
