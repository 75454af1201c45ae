"""Benchmark the theme coding on real NHS patient feedback coded by people (not a test).

Reads ../shared/data/nhs-feedback/dev.csv (id, text, labels; 4,486 comments, 44 labels)
and benchmarks/nhs_feedback_codebook.yml (one theme per label, seed terms written from
the label names alone), and measures mean per-label Cohen's kappa over labels with at
least 5 examples:

- zero-shot (codebook only), on the whole file and on its odd and even rows: the plain
  seed-term rule (keyword) and the guided model without human codes;
- the learning curve with human codes: in each repeat (seeded) the comments are split
  in half; up to n comments per label (n = 10, 25, 50, 100) are drawn from the first
  half as the coder's codes (with every label they carry), the model is fitted on all
  texts with those codes only, and every method is scored on the second half: keyword,
  zero-shot, the model, and a supervised TF-IDF + logistic regression trained on the
  same coded comments (the usual supervised reference).

Writes reports/nhs_feedback.json and prints a table. Run:

    .venv/bin/python benchmarks/nhs_feedback.py [--repeats 3] [--data PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from pcnstudy.core import paths
from pcnstudy.themes.agreement import cohen_kappa
from pcnstudy.themes.codebook import load_codebook
from pcnstudy.themes.topics import GuidedThemeModel

HERE = Path(__file__).resolve().parent
DATA = paths.ROOT.parent / "shared" / "data" / "nhs-feedback" / "dev.csv"
CODEBOOK = HERE / "nhs_feedback_codebook.yml"
SIZES = (10, 25, 50, 100)
MIN_SUPPORT = 5
SEED = 7


def label_matrix(labels: pd.Series, names: list[str]) -> np.ndarray:
    """Documents x labels 0/1 from ';'-joined label strings."""
    sets = labels.fillna("").str.split(";").apply(lambda xs: {x.strip() for x in xs if x.strip()})
    return np.array([[name in s for name in names] for s in sets], dtype=int)


def mean_kappa(pred: np.ndarray, gold: np.ndarray, min_support: int = MIN_SUPPORT) -> tuple[float, int]:
    """Mean per-label Cohen's kappa over labels with >= min_support gold examples (and the label count)."""
    cols = np.where(gold.sum(axis=0) >= min_support)[0]
    vals = [cohen_kappa(pred[:, j], gold[:, j]) for j in cols]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)), len(cols)


def tfidf_lr(train_texts: list[str], Y: np.ndarray, test_texts: list[str], seed: int) -> np.ndarray:
    """Supervised reference: TF-IDF + one logistic regression per label (0.5 cut)."""
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True)
    Xtr = vec.fit_transform(train_texts)
    Xte = vec.transform(test_texts)
    out = np.zeros((len(test_texts), Y.shape[1]), dtype=int)
    for j in range(Y.shape[1]):
        if 0 < Y[:, j].sum() < len(Y):
            clf = LogisticRegression(class_weight="balanced", solver="liblinear", random_state=seed)
            out[:, j] = clf.fit(Xtr, Y[:, j]).predict(Xte)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=paths.REPORTS / "nhs_feedback.json")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"error: {args.data}: file not found", file=sys.stderr)
        return 1
    data = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    book = load_codebook(CODEBOOK)
    names = [book.names()[t] for t in book.ids]
    texts = data["text"].tolist()
    Y = label_matrix(data["labels"], names)
    result: dict = {"data": str(args.data.name), "n_documents": len(texts), "n_labels": len(names),
                    "min_support": MIN_SUPPORT, "seed": SEED}

    started = time.time()
    model = GuidedThemeModel(seed_terms=book.seed_terms(), n_free_topics=0, random_state=SEED).fit(texts)
    keyword_pred, model_pred = model.keyword_predict(texts), model.predict(texts)
    kw, n_labels = mean_kappa(keyword_pred, Y)
    zs, _ = mean_kappa(model_pred, Y)
    # the same figures on the odd and even rows, to see how much they move between halves
    halves = {}
    for name, rows in (("odd_rows", np.arange(1, len(texts), 2)), ("even_rows", np.arange(0, len(texts), 2))):
        halves[name] = {"keyword": mean_kappa(keyword_pred[rows], Y[rows])[0],
                        "model": mean_kappa(model_pred[rows], Y[rows])[0]}
    result["zero_shot"] = {"keyword": kw, "model": zs, "n_labels_scored": n_labels, "halves": halves,
                           "fit_seconds": time.time() - started}

    rows = []
    for rep in tqdm(range(args.repeats), desc="repeats", disable=not sys.stderr.isatty()):
        rng = np.random.default_rng(SEED + rep)
        perm = rng.permutation(len(texts))
        pool, held = perm[: len(perm) // 2], np.sort(perm[len(perm) // 2:])
        held_texts = [texts[i] for i in held]
        base = GuidedThemeModel(seed_terms=book.seed_terms(), n_free_topics=0, random_state=SEED + rep).fit(texts)
        rows.append({"repeat": rep, "n_per_label": 0, "n_coded": 0,
                     "keyword": mean_kappa(base.keyword_predict(held_texts), Y[held])[0],
                     "zero_shot": mean_kappa(base.predict(held_texts), Y[held])[0],
                     "model": float("nan"), "tfidf_lr": float("nan")})
        for n in SIZES:
            chosen: set[int] = set()
            for j in range(Y.shape[1]):
                pos = pool[Y[pool, j] == 1]
                if len(pos):
                    chosen.update(rng.choice(pos, size=min(n, len(pos)), replace=False).tolist())
            idx = np.array(sorted(chosen))
            y = np.full(Y.shape, -1)
            y[idx] = Y[idx]
            fitted = GuidedThemeModel(seed_terms=book.seed_terms(), n_free_topics=0,
                                      random_state=SEED + rep).fit(texts, y)
            rows.append({"repeat": rep, "n_per_label": n, "n_coded": len(idx),
                         "keyword": rows[-1]["keyword"] if rows else float("nan"),
                         "zero_shot": float("nan"),
                         "model": mean_kappa(fitted.predict(held_texts), Y[held])[0],
                         "tfidf_lr": mean_kappa(tfidf_lr([texts[i] for i in idx], Y[idx], held_texts, SEED),
                                                Y[held])[0]})
    curve = pd.DataFrame(rows)
    summary = curve.groupby("n_per_label").agg(
        n_coded=("n_coded", "mean"), keyword=("keyword", "mean"), zero_shot=("zero_shot", "mean"),
        model=("model", "mean"), model_sd=("model", "std"), tfidf_lr=("tfidf_lr", "mean")).reset_index()
    result["learning_curve"] = {"design": "half of dev.csv as the coding pool, the other half evaluated; "
                                          f"{args.repeats} seeded repeats",
                                "rows": curve.to_dict(orient="records"),
                                "mean": summary.to_dict(orient="records")}
    result["seconds"] = time.time() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, (float, np.floating)):
            return None if not np.isfinite(v) else float(v)
        if isinstance(v, np.integer):
            return int(v)
        return v

    args.out.write_text(json.dumps(plain(result), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"NHS feedback benchmark ({len(texts)} comments, {n_labels} labels with >= {MIN_SUPPORT} examples)")
    print(f"zero-shot mean kappa: keyword rule {kw:.3f}   guided model {zs:.3f}")
    for name, half in halves.items():
        print(f"  {name}: keyword rule {half['keyword']:.3f}   guided model {half['model']:.3f}")
    print("learning curve (mean kappa on the held-out half; n = coded comments per label):")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
