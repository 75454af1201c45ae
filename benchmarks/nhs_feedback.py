"""Benchmark the theme coding on real NHS patient feedback coded by people (not a test).

Reads ../shared/data/nhs-feedback/dev.csv (id, text, labels; 4,486 comments, 44 labels)
and benchmarks/nhs_feedback_codebook.yml (one theme per label, seed terms written from
the label names alone), and measures mean per-label Cohen's kappa over labels with at
least 5 examples:

- zero-shot (codebook only), on the whole file and on its odd and even rows: the plain
  seed-term rule (keyword) and the guided model without human codes;
  per label, the two beside each other and the worst per-label gap (model minus rule);
- the learning curve with human codes, cross-fitted: in each repeat (seeded) the
  comments are dealt into 5 folds; for each fold, up to n comments per label (n = 10,
  25, 50, 100, and all) are drawn from the other folds as the coder's codes (with every
  label they carry), the model (fitted once on all texts without codes) learns from
  those codes only (``GuidedThemeModel.fit_codes``) and codes the fold, and a TF-IDF +
  logistic regression (the usual supervised reference) is trained on the same coded
  comments and codes the fold too. So no comment is judged by a model that saw its
  code; every comment is judged once per size, and each method is scored on the whole
  file: keyword, zero-shot, the model and the TF-IDF reference;
- the free topics (``n_free_topics="auto"``) beside gensim LDA with the same number of
  topics on the same corpus: mean NPMI of each one's top terms (``bench.coherence``).

Writes reports/nhs_feedback.json and prints a table. Run:

    .venv/bin/python benchmarks/nhs_feedback.py [--repeats 1] [--data PATH] [--skip-topics] [--zero-shot-only]

(``--zero-shot-only``: the zero-shot part alone, no learning curve and no free topics.)
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from pcnstudy.bench.coherence import free_topics_beside_lda
from pcnstudy.core import paths
from pcnstudy.themes.agreement import cohen_kappa
from pcnstudy.themes.codebook import load_codebook
from pcnstudy.themes.topics import GuidedThemeModel

HERE = Path(__file__).resolve().parent
DATA = paths.ROOT.parent / "shared" / "data" / "nhs-feedback" / "dev.csv"
CODEBOOK = HERE / "nhs_feedback_codebook.yml"
SIZES = (10, 25, 50, 100, None)  # None: every code of the other folds
N_FOLDS = 5
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


def per_label_kappa(pred: np.ndarray, gold: np.ndarray, names: list[str], min_support: int = MIN_SUPPORT) -> dict:
    """{label: kappa} over labels with >= min_support gold examples."""
    cols = np.where(gold.sum(axis=0) >= min_support)[0]
    return {names[j]: cohen_kappa(pred[:, j], gold[:, j]) for j in cols}


def draw_codes(Y: np.ndarray, pool: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Up to n pool comments per label (each with every label it carries); None: the whole pool."""
    if n is None:
        return np.sort(pool)
    chosen: set[int] = set()
    for j in range(Y.shape[1]):
        pos = pool[Y[pool, j] == 1]
        if len(pos):
            chosen.update(rng.choice(pos, size=min(n, len(pos)), replace=False).tolist())
    return np.array(sorted(chosen), dtype=int)


def cross_fitted_curve(texts: list[str], Y: np.ndarray, seed_terms: dict, rep: int) -> tuple[list[dict], dict]:
    """One repeat of the cross-fitted learning curve: rows (size, n_coded, kappas) and the predictions."""
    rng = np.random.default_rng(SEED + rep)
    fold = rng.permutation(len(texts)) % N_FOLDS
    base = GuidedThemeModel(seed_terms=seed_terms, n_free_topics=0, random_state=SEED + rep).fit(texts)
    preds = {n: (np.zeros_like(Y), np.zeros_like(Y)) for n in SIZES}
    n_coded = {n: [] for n in SIZES}
    for f in tqdm(range(N_FOLDS), desc=f"repeat {rep}: folds", disable=not sys.stderr.isatty()):
        held = np.where(fold == f)[0]
        pool = np.where(fold != f)[0]
        held_texts = [texts[i] for i in held]
        for n in SIZES:
            idx = draw_codes(Y, pool, n, rng)
            y = np.full(Y.shape, -1)
            y[idx] = Y[idx]
            fitted = copy.deepcopy(base).fit_codes(y)
            preds[n][0][held] = fitted.predict(held_texts)
            preds[n][1][held] = tfidf_lr([texts[i] for i in idx], Y[idx], held_texts, SEED)
            n_coded[n].append(len(idx))
    keyword, zero_shot = base.keyword_predict(texts), base.predict(texts)
    rows = [{"repeat": rep, "n_per_label": 0, "n_coded": 0, "keyword": mean_kappa(keyword, Y)[0],
             "zero_shot": mean_kappa(zero_shot, Y)[0], "model": float("nan"), "tfidf_lr": float("nan")}]
    for n in SIZES:
        rows.append({"repeat": rep, "n_per_label": "all" if n is None else n,
                     "n_coded": float(np.mean(n_coded[n])), "keyword": rows[0]["keyword"],
                     "zero_shot": float("nan"), "model": mean_kappa(preds[n][0], Y)[0],
                     "tfidf_lr": mean_kappa(preds[n][1], Y)[0]})
    return rows, preds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-topics", action="store_true", help="leave out the free topics beside LDA")
    parser.add_argument("--zero-shot-only", action="store_true",
                        help="only the zero-shot part (no learning curve, no free topics)")
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
    by_label = pd.DataFrame({"rule": per_label_kappa(keyword_pred, Y, names),
                             "model": per_label_kappa(model_pred, Y, names)})
    by_label["gap"] = by_label["model"] - by_label["rule"]
    col = {name: j for j, name in enumerate(names)}
    by_label["n_coded"] = [int(Y[:, col[c]].sum()) for c in by_label.index]
    by_label["n_rule"] = [int(keyword_pred[:, col[c]].sum()) for c in by_label.index]
    by_label["n_model"] = [int(model_pred[:, col[c]].sum()) for c in by_label.index]
    expanded = [t for t in book.ids if np.isfinite(model.zero_shot_thresholds_[t])]
    phrased = list(model.phrase_themes_)
    result["zero_shot"] = {"keyword": kw, "model": zs, "n_labels_scored": n_labels, "halves": halves,
                           "worst_gap": float(by_label["gap"].min()),
                           "worst_gap_label": str(by_label["gap"].idxmin()),
                           "expanded_themes": expanded,
                           "phrase_variant_themes": phrased,
                           "phrase_variant_check": model.phrase_variant_check_,
                           "by_label": by_label.to_dict(orient="index"),
                           "fit_seconds": time.time() - started}

    rows, last = [], {}
    for rep in range(0 if args.zero_shot_only else args.repeats):
        rep_rows, last = cross_fitted_curve(texts, Y, book.seed_terms(), rep)
        rows += rep_rows
    curve = pd.DataFrame(rows, columns=["repeat", "n_per_label", "n_coded", "keyword", "zero_shot", "model",
                                        "tfidf_lr"])
    curve["n_per_label"] = curve["n_per_label"].astype(str)
    order = {str(n): i for i, n in enumerate([0, *[("all" if n is None else n) for n in SIZES]])}
    summary = curve.groupby("n_per_label", sort=False).agg(
        n_coded=("n_coded", "mean"), keyword=("keyword", "mean"), zero_shot=("zero_shot", "mean"),
        model=("model", "mean"), tfidf_lr=("tfidf_lr", "mean")).reset_index()
    summary = summary.sort_values("n_per_label", key=lambda s: s.map(order)).reset_index(drop=True)
    at_all = last.get(None, (np.zeros_like(Y), np.zeros_like(Y)))
    result["learning_curve"] = {} if args.zero_shot_only else {"design": f"cross-fitted: {N_FOLDS} folds, codes drawn from the other folds, "
                                          f"every comment judged once per size; {args.repeats} seeded repeat(s)",
                                "rows": curve.to_dict(orient="records"),
                                "mean": summary.to_dict(orient="records"),
                                "by_label_all_codes": pd.DataFrame({
                                    "model": per_label_kappa(at_all[0], Y, names),
                                    "tfidf_lr": per_label_kappa(at_all[1], Y, names)}).to_dict(orient="index")}
    if not (args.skip_topics or args.zero_shot_only):
        result["free_topics"] = free_topics_beside_lda(texts, book.seed_terms(), seed=SEED)
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
    print(f"zero-shot mean kappa: keyword rule {kw:.3f}   guided model {zs:.3f}   "
          f"(model - rule {zs - kw:+.3f}; worst label {by_label['gap'].min():+.3f}, {by_label['gap'].idxmin()})")
    for name, half in halves.items():
        print(f"  {name}: keyword rule {half['keyword']:.3f}   guided model {half['model']:.3f}")
    print(f"  themes whose corpus expansion passed the held-out seed check: {', '.join(expanded) or 'none'}")
    print(f"  themes whose multi-word seeds also match with an inserted word (phrase-variant guard): "
          f"{', '.join(phrased) or 'none'}")
    print("zero-shot kappa per label (n coded, n assigned by rule and model):")
    print(by_label.sort_values("n_coded", ascending=False).to_string(float_format=lambda x: f"{x:.3f}"))
    if not args.zero_shot_only:
        print("learning curve (mean kappa, cross-fitted; n = coded comments per label, drawn from the other folds):")
        print(summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if "free_topics" in result:
        ft = result["free_topics"]
        print(f"free topics: {ft['n_free_topics']} chosen, mean NPMI {ft['free_npmi_mean']:.3f}; gensim LDA with "
              f"{max(1, ft['n_free_topics'])} topic(s), {ft['lda_passes']} passes, same corpus: mean NPMI "
              f"{ft['lda_npmi_mean']:.3f} (top {ft['n_top']} terms)")
        for topic, terms in ft["free_topics"].items():
            print(f"  {topic}: {', '.join(terms)}")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
