"""The themes stage and the ``pcnstudy themes`` command: free text coded against a codebook.

``themes_command(texts, codebook, out, free_topics, human_codes, seed) -> int`` takes a
CSV of ``id, text`` (any study), a codebook YAML and optionally a researcher's codes
(CSV ``id, theme`` or a .qdpx), fits ``topics.GuidedThemeModel`` and writes into
``out``: ``doc_themes.csv`` (id, theme, score, assigned), ``topics.csv`` (topic, rank,
term, weight, theme: a theme id or "emergent"), ``quality.json`` (NPMI per topic and
mean, stability, the chosen number of free topics and the criterion behind it, the
threshold and rule per theme, the model beside the plain seed-term rule) and, with
human codes, ``agreement.csv`` (per theme and method: kappa, alpha, precision, recall,
F1, the model's figures cross-validated over the coded documents) and, when there are
enough codes, ``learning_curve.csv``. Returns 0, or 1 with a one-line message on
stderr for bad input (also an unwritable ``out`` or a model failure: never a traceback),
2 for a usage error (--free-topics not a count or auto, --seed outside 0..2**32-1).
``read_texts(path)`` and ``read_codes(path, codebook)`` read the inputs through
``pcnstudy.core.textfile`` (any common encoding, delimiter and header case).

``run_themes_stage(processed, results, figures, params, codebook) -> dict`` runs the
study's stage on ``processed/texts.parquet`` and writes ``results/themes/``
(doc_themes, topics, prevalence with Wilson 95% CIs under disclosure control, quotes,
cooccurrence, sentiment), ``results/themes.json``, ``results/themes.qdpx`` and the
figures fig-theme-heatmap, fig-topic-terms and fig-theme-cooccurrence; returns the
themes.json content.
"""
from __future__ import annotations

import html
import json
import math
import sys
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from pcnstudy.themes.codebook import Codebook, CodebookError, load_codebook
from pcnstudy.themes.topics import ASSIGN_AT, GuidedThemeModel

DOC_THEME_COLUMNS = ["id", "theme", "score", "assigned"]
TOPIC_COLUMNS = ["topic", "rank", "term", "weight", "theme"]
LEARNING_SIZES = (10, 25, 50, 100)
PREVALENCE_BY = ("cohort", "wave", "profession", "question")


class InputError(ValueError):
    """Bad input to the themes command; the message is one line naming file, row and column."""


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\n")


def _plain(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, nan/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def _write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(data), indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


def _progress(iterable, **kwargs):
    return tqdm(iterable, disable=not sys.stderr.isatty(), **kwargs)


# ------------------------------------------------------------------ input
def read_texts(path: Path) -> pd.DataFrame:
    """Read a CSV of ``id, text`` (other columns ignored); raise ``InputError`` naming file, row, column.

    The file is read by ``textfile.read_table``: any common encoding (UTF-8/16 with or
    without a byte-order mark, Windows-1252), delimiter (, ; tab |) and header case
    ("ID", " Text "). Without an ``id`` column the texts are numbered 1..n (zero-padded,
    so they sort in file order). A text column is required; ids must be non-empty and
    unique; a file with a header and no rows is an error.
    """
    from pcnstudy.core.textfile import TableError, read_table

    path = Path(path)
    try:
        table = read_table(path, ["text"], optional=["id"])
    except TableError as exc:
        raise InputError(str(exc)) from None
    if table.empty:
        raise InputError(f"{path}:2:text: no texts (the file has a header and no rows)")
    rows = table.index.to_numpy()
    if "id" not in table.columns:
        width = len(str(len(table)))
        ids = pd.Series([str(k + 1).zfill(width) for k in range(len(table))], index=table.index, dtype=object)
    else:
        ids = table["id"].astype(str).str.strip()
    for row, doc in zip(rows, ids):
        if not doc:
            raise InputError(f"{path}:{row}:id: empty id")
    dup = ids.duplicated().to_numpy()
    if dup.any():
        k = int(np.argmax(dup))
        first = rows[int(np.argmax((ids == ids.iloc[k]).to_numpy()))]
        raise InputError(f"{path}:{rows[k]}:id: duplicate id {ids.iloc[k]!r} (first in row {first})")
    return pd.DataFrame({"id": ids.to_numpy(dtype=object), "text": table["text"].astype(str).to_numpy(dtype=object)})


def parse_free_topics(value: str | int) -> int | str:
    """``"auto"`` or a non-negative integer; raise ValueError otherwise."""
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text.isdigit():
        return int(text)
    raise ValueError(f"--free-topics must be a non-negative integer or 'auto', got {value!r}")


def codes_matrix(codes: pd.DataFrame, ids: Sequence[str], themes: Sequence[str]) -> np.ndarray:
    """Documents x themes matrix of human codes: 0/1 for coded documents, -1 for uncoded ones."""
    index = {doc: i for i, doc in enumerate(ids)}
    col = {t: j for j, t in enumerate(themes)}
    Y = np.full((len(ids), len(themes)), -1, dtype=int)
    coded = sorted({index[d] for d in codes["id"] if d in index})
    Y[coded, :] = 0
    for doc, theme in zip(codes["id"], codes["theme"]):
        if doc in index and theme in col:
            Y[index[doc], col[theme]] = 1
    return Y


# ------------------------------------------------------------------ fitting
def fit_model(texts: Sequence[str], codebook: Codebook, free_topics: int | str, seed: int,
              y: np.ndarray | None = None, max_free_topics: int = 4, n_stability_seeds: int = 5) -> GuidedThemeModel:
    """Fit the guided theme model on ``texts`` with the codebook's seed terms (and codes ``y``)."""
    model = GuidedThemeModel(seed_terms=codebook.seed_terms(), n_free_topics=free_topics,
                             max_free_topics=max_free_topics, n_stability_seeds=n_stability_seeds,
                             random_state=seed)
    return model.fit(list(texts), y)


def doc_themes_table(ids: Sequence[str], themes: Sequence[str], scores: np.ndarray) -> pd.DataFrame:
    """Long table id, theme, score, assigned (one row per document x theme), sorted by id, theme."""
    n, T = scores.shape
    table = pd.DataFrame({
        "id": np.repeat(np.asarray(ids, dtype=object), T),
        "theme": np.tile(np.asarray(themes, dtype=object), n),
        "score": scores.ravel(),
    })
    table["assigned"] = (table["score"] >= ASSIGN_AT).astype(int)
    return table.sort_values(["id", "theme"], kind="stable").reset_index(drop=True)[DOC_THEME_COLUMNS]


def _long_codes(ids: Sequence[str], themes: Sequence[str], matrix: np.ndarray) -> pd.DataFrame:
    rows = [(ids[i], themes[j]) for i, j in zip(*np.nonzero(matrix))]
    return pd.DataFrame(sorted(rows), columns=["id", "theme"])


def quality_summary(model: GuidedThemeModel, texts: Sequence[str], keyword: np.ndarray, assigned: np.ndarray) -> dict:
    """quality.json content: coherence, stability, free-topic choice, thresholds, baseline comparison."""
    from pcnstudy.themes.agreement import cohen_kappa

    theme_npmi = model.theme_npmi(list(texts))
    npmi = {**theme_npmi, **model.free_topic_npmi_}
    finite = [v for v in npmi.values() if v is not None and np.isfinite(v)]
    sel = model.free_topic_selection_
    chosen = sel[sel["k"] == model.n_free_topics_]
    stability = float(chosen["stability"].iloc[0]) if len(chosen) else float("nan")
    baseline = {}
    for j, theme in enumerate(model.themes_):
        baseline[theme] = {
            "n_model": int(assigned[:, j].sum()),
            "n_keyword": int(keyword[:, j].sum()),
            "kappa_model_vs_keyword": cohen_kappa(assigned[:, j], keyword[:, j]),
        }
    return {
        "n_documents": len(texts),
        "npmi": npmi,
        "npmi_mean": float(np.mean(finite)) if finite else float("nan"),
        "stability": stability,
        "n_free_topics": int(model.n_free_topics_),
        "free_topics_requested": model.n_free_topics,
        "free_topic_criterion": "max over K of (mean NPMI + 1) / 2 x stability (Hungarian-matched "
                                "top-term Jaccard over seeds); ties to the smaller K",
        "free_topic_selection": sel.to_dict(orient="records"),
        "n_stability_seeds": int(model.n_stability_seeds),
        "n_unexplained_documents": int(model.n_unexplained_),
        "thresholds": {t: model.thresholds_[t] for t in model.themes_},
        "threshold_rule": dict(model.threshold_rule_),
        "score_scale": "per-theme scores are mapped so that the assignment threshold is 0.5",
        "expansion_f1": dict(model.expansion_f1_),
        "baseline": baseline,
        "n_assigned_model": int(assigned.sum()),
        "n_assigned_keyword": int(keyword.sum()),
    }


def cross_validated_predictions(texts: Sequence[str], codebook: Codebook, Y: np.ndarray, seed: int,
                                n_folds: int = 3) -> np.ndarray:
    """Model predictions for the coded documents, each from a fit that did not see its codes.

    Coded documents are split into ``n_folds`` folds (seeded); for each fold the model is
    fitted with the other folds' codes (the fold's documents uncoded) and predicts the fold.
    Uncoded rows of the result are -1.
    """
    coded = np.where((Y >= 0).all(axis=1))[0]
    out = np.full(Y.shape, -1, dtype=int)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(coded)) % n_folds
    for f in _progress(range(n_folds), desc="cross-validating", leave=False):
        held = coded[fold_of == f]
        Yf = Y.copy()
        Yf[held] = -1
        model = fit_model(texts, codebook, 0, seed, Yf)
        out[held] = model.predict([texts[i] for i in held])
    return out


def learning_curve(texts: Sequence[str], codebook: Codebook, Y: np.ndarray, seed: int,
                   sizes: Sequence[int] = LEARNING_SIZES, min_support: int = 5, repeats: int = 1) -> pd.DataFrame:
    """Mean per-theme kappa on held-out coded documents against the number of coded examples per theme.

    The coded documents are split (seeded) into a training pool (two thirds) and an
    evaluation set; for each size n, up to n pool documents carrying each theme are
    drawn (with every code they carry) and the model is fitted with those codes only.
    Rows: method (keyword, zero_shot, model), n_per_theme, repeat, n_coded, mean_kappa,
    n_themes (themes with >= ``min_support`` evaluation examples).
    """
    from pcnstudy.themes.agreement import cohen_kappa

    coded = np.where((Y >= 0).all(axis=1))[0]
    rows = []
    for rep in range(repeats):
        rng = np.random.default_rng(seed + rep)
        perm = rng.permutation(coded)
        n_eval = max(1, len(perm) // 3)
        evaluate, pool = np.sort(perm[:n_eval]), perm[n_eval:]
        support = Y[evaluate].sum(axis=0) >= min_support
        if not support.any():
            continue

        def mean_kappa(pred: np.ndarray) -> float:
            vals = [cohen_kappa(pred[:, j], Y[evaluate, j]) for j in np.where(support)[0]]
            vals = [v for v in vals if np.isfinite(v)]
            return float(np.mean(vals)) if vals else float("nan")

        eval_texts = [texts[i] for i in evaluate]
        base = fit_model(texts, codebook, 0, seed, None)
        rows.append({"method": "keyword", "n_per_theme": 0, "repeat": rep, "n_coded": 0,
                     "mean_kappa": mean_kappa(base.keyword_predict(eval_texts)), "n_themes": int(support.sum())})
        rows.append({"method": "zero_shot", "n_per_theme": 0, "repeat": rep, "n_coded": 0,
                     "mean_kappa": mean_kappa(base.predict(eval_texts)), "n_themes": int(support.sum())})
        max_pos = int(Y[pool].sum(axis=0).max()) if len(pool) else 0
        for n in _progress([s for s in sizes if s <= max(max_pos, min(sizes))], desc="learning curve", leave=False):
            chosen: set[int] = set()
            for j in range(Y.shape[1]):
                pos = pool[Y[pool, j] == 1]
                if len(pos):
                    chosen.update(rng.choice(pos, size=min(n, len(pos)), replace=False).tolist())
            Yn = np.full(Y.shape, -1, dtype=int)
            idx = np.array(sorted(chosen), dtype=int)
            Yn[idx] = Y[idx]
            model = fit_model(texts, codebook, 0, seed, Yn)
            rows.append({"method": "model", "n_per_theme": n, "repeat": rep, "n_coded": len(idx),
                         "mean_kappa": mean_kappa(model.predict(eval_texts)), "n_themes": int(support.sum())})
    return pd.DataFrame(rows, columns=["method", "n_per_theme", "repeat", "n_coded", "mean_kappa", "n_themes"])


def agreement_with_codes(ids: Sequence[str], themes: Sequence[str], Y: np.ndarray, model_pred: np.ndarray,
                         keyword: np.ndarray) -> pd.DataFrame:
    """agreement.csv: per theme and method (model cross-validated, keyword rule) kappa, alpha, P, R, F1."""
    from pcnstudy.themes.agreement import agreement_table

    coded = np.where((Y >= 0).all(axis=1))[0]
    coded_ids = [ids[i] for i in coded]
    gold = _long_codes(coded_ids, themes, Y[coded])
    tables = []
    for method, pred in (("model", model_pred[coded]), ("keyword", keyword[coded])):
        table = agreement_table(_long_codes(coded_ids, themes, pred), gold, list(themes), ids=coded_ids)
        table.insert(0, "method", method)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    return out.sort_values(["method", "theme"], kind="stable").reset_index(drop=True)


CODE_COLUMNS = ("theme", "themes", "code", "codes", "label", "labels", "category", "categories")
SEED_RANGE = (0, 2**32 - 1)


def read_codes(path: Path, book: Codebook) -> pd.DataFrame:
    """Read a researcher's codes as (id, theme) rows, sorted; raise ``InputError`` (one line).

    A .qdpx project is read by ``qdpx.read_human_codes``. A CSV (any encoding/delimiter,
    header case ignored) needs an ``id`` column and a column of codes, named ``theme``
    or else one of themes/code/codes/label/labels/category/categories. A code is a
    theme id or name (case ignored); a cell that is not one is split on ";" (several
    codes in one cell, as in a labels column). A row with an empty code marks its
    document as coded with none of the themes (theme ""). Duplicate rows count once.
    """
    from pcnstudy.core.textfile import TableError, read_table

    path = Path(path)
    if path.suffix.lower() == ".qdpx" or (path.is_file() and zipfile.is_zipfile(path)):
        from pcnstudy.themes.qdpx import read_human_codes

        try:
            return read_human_codes(path, book)
        except ValueError as exc:
            raise InputError(str(exc).splitlines()[0]) from None
    try:
        table = read_table(path, ["id"], optional=CODE_COLUMNS)
    except TableError as exc:
        raise InputError(str(exc)) from None
    column = next((c for c in CODE_COLUMNS if c in table.columns), None)
    if column is None:
        raise InputError(f"{path}:1:theme: no 'theme' column (header has {', '.join(map(str, table.columns))})")
    if table.empty:
        raise InputError(f"{path}:2:id: no codes (the file has a header and no rows)")
    lookup: dict[str, str] = {}
    for theme in book.themes:
        lookup.setdefault(" ".join(theme.name.split()).casefold(), theme.id)
    for theme in book.themes:
        lookup[theme.id.casefold()] = theme.id
    rows = []
    for row, doc, cell in zip(table.index, table["id"], table[column]):
        doc, cell = str(doc).strip(), " ".join(str(cell).split())
        if not doc:
            raise InputError(f"{path}:{row}:id: empty id")
        parts = [cell] if cell.casefold() in lookup or ";" not in cell else [p.strip() for p in cell.split(";")]
        parts = [p for p in parts if p] or [""]
        for part in parts:
            if part and part.casefold() not in lookup:
                raise InputError(f"{path}:{row}:{column}: {part!r} is neither a theme id nor a theme name "
                                 f"in the codebook")
            rows.append((doc, lookup[part.casefold()] if part else ""))
    return pd.DataFrame(sorted(set(rows)), columns=["id", "theme"])


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _input_error(message: str) -> int:
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return 1


def themes_command(texts: Path, codebook: Path, out: Path, free_topics: str = "auto",
                   human_codes: Path | None = None, seed: int = 7) -> int:
    """``pcnstudy themes``: code a CSV of id, text against a codebook; see the module docstring."""
    try:
        k = parse_free_topics(free_topics)
    except ValueError as exc:
        return _usage_error(str(exc))
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        return _usage_error(f"--seed must be an integer, got {seed!r}")
    if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        return _usage_error(f"--seed must be an integer from {SEED_RANGE[0]} to {SEED_RANGE[1]}, got {seed}")
    try:
        book = load_codebook(Path(codebook))
        table = read_texts(Path(texts))
        codes = None
        if human_codes is not None:
            codes = read_codes(Path(human_codes), book)
            known = set(table["id"])
            matched = codes[codes["id"].isin(known)]
            if len(codes) and matched.empty:
                raise InputError(f"{human_codes}:2:id: no coded id is an id of {texts}")
            unknown = sorted(set(codes["id"]) - known)
            if unknown:
                print(f"note: {len(unknown)} coded id(s) of {human_codes} are not in {texts} and are ignored "
                      f"(first: {unknown[0]!r})", file=sys.stderr)
            codes = matched
    except (CodebookError, InputError) as exc:
        return _input_error(str(exc))
    except ValueError as exc:  # QdpxError and other one-line input errors
        return _input_error(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _input_error(f"{out}: cannot create the output folder ({exc.strerror or exc.__class__.__name__})")
    try:
        return _run_themes(table, book, out, k, codes, seed)
    except OSError as exc:
        where = exc.filename or out
        return _input_error(f"{where}: cannot write output ({exc.strerror or exc.__class__.__name__})")
    except Exception as exc:  # never a traceback: name the input and the failure on one line
        first = str(exc).splitlines()[0] if str(exc) else ""
        return _input_error(f"{texts}: the theme model failed on these texts ({exc.__class__.__name__}: {first})")


def _run_themes(table: pd.DataFrame, book: Codebook, out: Path, k: int | str, codes: pd.DataFrame | None,
                seed: int) -> int:
    """Fit the model and write the command's outputs into ``out`` (see ``themes_command``)."""
    ids = table["id"].tolist()
    docs = table["text"].tolist()
    themes = book.ids
    Y = codes_matrix(codes, ids, themes) if codes is not None else None
    model = fit_model(docs, book, k, seed, Y)
    scores = model.transform(docs)
    assigned = (scores >= ASSIGN_AT).astype(int)
    keyword = model.keyword_predict(docs)
    _write_csv(doc_themes_table(ids, themes, scores), out / "doc_themes.csv")
    topics = model.topic_terms().sort_values(["topic", "rank"], kind="stable")[TOPIC_COLUMNS]
    _write_csv(topics, out / "topics.csv")
    quality = quality_summary(model, docs, keyword, assigned)
    if Y is not None:
        n_coded = int((Y >= 0).all(axis=1).sum())
        cv_pred = cross_validated_predictions(docs, book, Y, seed) if n_coded >= 6 else assigned
        agreement = agreement_with_codes(ids, themes, Y, cv_pred, keyword)
        _write_csv(agreement, out / "agreement.csv")
        from pcnstudy.themes.agreement import summarise_agreement

        quality["human_codes"] = {
            "n_coded_documents": n_coded,
            "n_codes": int((codes["theme"] != "").sum()),
            "model_evaluation": "3-fold cross-validated over the coded documents" if n_coded >= 6 else "in-sample",
            "model": summarise_agreement(agreement[agreement["method"] == "model"]),
            "keyword": summarise_agreement(agreement[agreement["method"] == "keyword"]),
        }
        coded_pos = Y[(Y >= 0).all(axis=1)].sum(axis=0)
        if n_coded >= 30 and (coded_pos >= 3 * min(LEARNING_SIZES) // 2).any():
            curve = learning_curve(docs, book, Y, seed)
            _write_csv(curve, out / "learning_curve.csv")
            quality["learning_curve"] = curve.to_dict(orient="records")
    _write_json(quality, out / "quality.json")
    return 0


# ------------------------------------------------------------------ the stage
TEXTS_COLUMNS = ["response_id", "respondent", "cohort", "group", "pcn", "profession", "wave", "question", "text"]
PREVALENCE_COLUMNS = ["dimension", "level", "theme", "n_total", "n", "prop", "prop_ci_low", "prop_ci_high"]


def wilson_interval(k: np.ndarray, n: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (nan where n == 0)."""
    from scipy.stats import norm

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def prevalence_table(assigned: pd.DataFrame, meta: pd.DataFrame, by: Sequence[str] = PREVALENCE_BY) -> pd.DataFrame:
    """Theme prevalence overall ("all") and by each column of ``by``, with Wilson 95% CIs.

    ``assigned``: documents x themes 0/1 (index = response id); ``meta``: the texts table
    indexed the same way. Rows sorted by dimension, level, theme.
    """
    rows = []
    dims = [("all", pd.Series("all", index=meta.index))] + [(c, meta[c].fillna("").astype(str)) for c in by
                                                              if c in meta.columns]
    for dim, levels in dims:
        for level, idx in levels.groupby(levels, sort=True).groups.items():
            sub = assigned.loc[idx]
            for theme in assigned.columns:
                rows.append({"dimension": dim, "level": str(level), "theme": theme, "n_total": len(sub),
                             "n": int(sub[theme].sum())})
    table = pd.DataFrame(rows, columns=["dimension", "level", "theme", "n_total", "n"])
    table["prop"] = table["n"] / table["n_total"]
    low, high = wilson_interval(table["n"].to_numpy(), table["n_total"].to_numpy())
    table["prop_ci_low"], table["prop_ci_high"] = low, high
    return table.sort_values(["dimension", "level", "theme"], kind="stable").reset_index(drop=True)[PREVALENCE_COLUMNS]


def disclose_prevalence(table: pd.DataFrame, min_cell: int, rule: str) -> pd.DataFrame:
    """Prevalence under disclosure control: small counts and the proportions they reveal hidden."""
    from pcnstudy.core.disclosure import suppress

    return suppress(table, count_cols=["n"], total_col="n_total",
                    derived_cols={"prop": "n", "prop_ci_low": "n", "prop_ci_high": "n"},
                    min_cell=min_cell, rule=rule, by=["dimension", "theme"])


def select_quotes(doc_themes: pd.DataFrame, texts: pd.DataFrame, n_quotes: int, min_words: int = 8,
                  max_words: int = 80) -> pd.DataFrame:
    """Exemplar quotes: per theme the ``n_quotes`` highest-scoring assigned responses.

    A quote is between ``min_words`` and ``max_words`` words, no text is quoted twice
    (nor for two themes), and redaction placeholders stay as they are. ``text_html`` is
    the HTML-escaped text. Columns: theme, rank, id, score, text, text_html.
    """
    words = texts.set_index("id")["text"].fillna("").str.split().str.len()
    chosen = doc_themes[doc_themes["assigned"] == 1].copy()
    chosen["words"] = chosen["id"].map(words)
    chosen = chosen[(chosen["words"] >= min_words) & (chosen["words"] <= max_words)]
    chosen = chosen.sort_values(["theme", "score", "id"], ascending=[True, False, True], kind="stable")
    text_of = texts.set_index("id")["text"]
    used: set[str] = set()
    rows = []
    for theme, group in chosen.groupby("theme", sort=True):
        rank = 0
        for doc, score in zip(group["id"], group["score"]):
            text = str(text_of[doc]).strip()
            key = " ".join(text.lower().split())
            if key in used:
                continue
            used.add(key)
            rank += 1
            rows.append({"theme": theme, "rank": rank, "id": doc, "score": float(score), "text": text,
                         "text_html": html.escape(text)})
            if rank >= n_quotes:
                break
    return pd.DataFrame(rows, columns=["theme", "rank", "id", "score", "text", "text_html"])


def cooccurrence_table(assigned: pd.DataFrame) -> pd.DataFrame:
    """Pairs of themes: documents carrying both (n), and the Jaccard index of their documents."""
    A = assigned.to_numpy().astype(int)
    both = A.T @ A
    rows = []
    themes = list(assigned.columns)
    for i, a in enumerate(themes):
        for j, b in enumerate(themes):
            if i < j:
                union = both[i, i] + both[j, j] - both[i, j]
                rows.append({"theme_a": a, "theme_b": b, "n": int(both[i, j]),
                             "jaccard": float(both[i, j] / union) if union else 0.0})
    return pd.DataFrame(rows, columns=["theme_a", "theme_b", "n", "jaccard"]).sort_values(
        ["theme_a", "theme_b"], kind="stable").reset_index(drop=True)


def _stat_or_marker(value: str) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number


def _draw_figures(shown: pd.DataFrame, topics: pd.DataFrame, doc_themes: pd.DataFrame, themes: list[str],
                  names: dict[str, str], figures: Path, min_cell: int, rule: str) -> list[str]:
    """Draw fig-theme-heatmap, fig-topic-terms and fig-theme-cooccurrence (pcnstudy.themes.figures).

    The heatmap shows the disclosed prevalence by cohort (suppressed cells hatched); the
    co-occurrence matrix hides counts below the disclosure threshold.
    """
    from matplotlib.figure import Figure

    from pcnstudy.themes import figures as themes_figures
    from pcnstudy.core.disclosure import get_rule
    from pcnstudy.core.plots import save_figure

    by_cohort = shown[shown["dimension"] == "cohort"].rename(columns={"level": "cohort"})
    if by_cohort.empty:
        by_cohort = shown[shown["dimension"] == "all"].rename(columns={"level": "cohort"})
    spec = get_rule(rule, min_cell)
    counts = themes_figures.cooccurrence_counts(doc_themes, themes)
    matrix = counts.astype(object).where((counts == 0) | (counts >= spec.threshold), spec.marker)
    figs: dict[str, Figure] = {
        "fig-theme-heatmap": themes_figures.plot_theme_heatmap(by_cohort, row="cohort", column="theme",
                                                               value="prop", labels=names),
        "fig-topic-terms": themes_figures.plot_topic_terms(topics, labels=names),
        "fig-theme-cooccurrence": themes_figures.plot_cooccurrence(matrix, labels=names),
    }
    written = []
    for label, fig in figs.items():
        written += [Path(p).name for p in save_figure(fig, label, figures)]
    return written


def run_themes_stage(processed: Path, results: Path, figures: Path, params: dict, codebook: Path) -> dict:
    """Run the themes stage on ``processed/texts.parquet``; write results and figures; return themes.json."""
    from pcnstudy.themes.qdpx import export_qdpx
    from pcnstudy.themes.sentiment import sentiment_by_theme

    processed, results, figures = Path(processed), Path(results), Path(figures)
    book = load_codebook(Path(codebook))
    texts = pd.read_parquet(processed / "texts.parquet")
    missing = [c for c in ("response_id", "text") if c not in texts.columns]
    if missing:
        raise InputError(f"{processed / 'texts.parquet'}:1:{missing[0]}: missing column")
    cohorts = params.get("cohorts") or []
    if cohorts:
        texts = texts[texts["cohort"].isin(cohorts)]
    texts = texts.sort_values("response_id", kind="stable").reset_index(drop=True)
    texts = texts[texts["text"].fillna("").str.strip() != ""].reset_index(drop=True)
    tp = params.get("themes", {}) or {}
    dp = params.get("disclosure", {}) or {}
    min_cell, rule = int(dp.get("min_cell", 5)), str(dp.get("rule", "threshold"))
    seed = int(tp.get("seed", 7))
    free = parse_free_topics(tp.get("free_topics", "auto"))
    ids = texts["response_id"].astype(str).tolist()
    docs = texts["text"].fillna("").tolist()
    model = fit_model(docs, book, free, seed, None, max_free_topics=int(tp.get("max_free_topics", 4)),
                      n_stability_seeds=int(tp.get("n_stability_seeds", 5)))
    scores = model.transform(docs)
    assigned = (scores >= ASSIGN_AT).astype(int)
    keyword = model.keyword_predict(docs)
    themes = book.ids
    out = results / "themes"
    out.mkdir(parents=True, exist_ok=True)

    doc_themes = doc_themes_table(ids, themes, scores)
    _write_csv(doc_themes, out / "doc_themes.csv")
    topics = model.topic_terms().sort_values(["topic", "rank"], kind="stable")[TOPIC_COLUMNS]
    _write_csv(topics, out / "topics.csv")
    matrix = pd.DataFrame(assigned, index=pd.Index(ids, name="id"), columns=themes)
    meta = texts.set_index(pd.Index(ids, name="id"))
    prevalence = prevalence_table(matrix, meta)
    shown = disclose_prevalence(prevalence, min_cell, rule)
    _write_csv(shown, out / "prevalence.csv")
    plain = pd.DataFrame({"id": ids, "text": docs})
    quotes = select_quotes(doc_themes, plain, int(tp.get("n_quotes", 3)))
    _write_csv(quotes, out / "quotes.csv")
    cooc = cooccurrence_table(matrix)
    from pcnstudy.core.disclosure import suppress

    _write_csv(suppress(cooc, count_cols=["n"], derived_cols={"jaccard": "n"}, min_cell=min_cell, rule=rule),
               out / "cooccurrence.csv")
    sentiment = sentiment_by_theme(doc_themes, plain)
    _write_csv(suppress(sentiment, count_cols=["n"],
                        derived_cols={c: "n" for c in sentiment.columns if c not in ("theme", "n")},
                        min_cell=min_cell, rule=rule), out / "sentiment.csv")
    quality = quality_summary(model, docs, keyword, assigned)
    _write_json(quality, out / "quality.json")
    export_qdpx(plain, _long_codes(ids, themes, assigned), book, results / "themes.qdpx",
                project_name="pcnstudy thematic analysis")

    names = book.names()
    summary: dict[str, Any] = {"themes": {}, "by_cohort": {}}
    overall = shown[shown["dimension"] == "all"]
    for _, row in overall.iterrows():
        summary["themes"][row["theme"]] = {
            "name": names[row["theme"]],
            **{k: _stat_or_marker(row[k]) for k in ("n", "prop", "prop_ci_low", "prop_ci_high")},
        }
    for _, row in shown[shown["dimension"] == "cohort"].iterrows():
        summary["by_cohort"].setdefault(row["level"], {})[row["theme"]] = {
            k: _stat_or_marker(row[k]) for k in ("n", "n_total", "prop", "prop_ci_low", "prop_ci_high")}
    summary["n_responses"] = len(ids)
    summary["quality"] = {k: quality[k] for k in ("npmi_mean", "stability", "n_free_topics", "n_stability_seeds",
                                                  "n_assigned_model", "n_assigned_keyword")}
    summary["emergent"] = [grp.sort_values("rank")["term"].tolist()
                           for _, grp in topics[topics["theme"] == "emergent"].groupby("topic", sort=True)]
    summary["figures"] = _draw_figures(shown, topics, doc_themes, themes, names, figures, min_cell, rule)
    _write_json(summary, results / "themes.json")
    return _plain(summary)
