"""The ``pcnstudy themes`` command: a CSV of free text coded against a codebook.

``themes_command(texts, codebook, out, free_topics, human_codes, seed) -> int`` takes a
CSV of ``id, text`` (any study), a codebook YAML and optionally a researcher's codes
(CSV ``id, theme`` or a .qdpx), fits ``topics.GuidedThemeModel`` and writes into
``out``: ``doc_themes.csv`` (id, theme, score, assigned), ``topics.csv`` (topic, rank,
term, weight, theme: a theme id or "emergent"), ``quality.json`` (NPMI per topic and
mean, stability, the chosen number of free topics and the criterion behind it, the
threshold and rule per theme, the model beside the plain seed-term rule) and, with
human codes, ``agreement.csv`` (per theme and method: kappa, alpha, precision, recall,
F1, the model's figures cross-validated over the coded documents; a .qdpx code that
matches no codebook theme kept as its own rows, ``in_codebook`` false) and, when there
are enough codes, ``learning_curve.csv``. A .qdpx's findings (codes outside the
codebook with their codings counts, themes left without codings, renamed codes
matched back; ``qdpx.import_notes``) are printed to stderr, one ``note:`` line each.
Returns 0, or 1 with a one-line message on stderr for bad input (also an unwritable
``out`` or a model failure: never a traceback), 2 for a usage error (--free-topics not
a count or auto, --seed outside 0..2**32-1). The inputs are read by ``pcnstudy.themes.inputs`` (``read_texts``, ``read_codes``).
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pandas as pd

from pcnstudy.themes.agreement import summarise_agreement
from pcnstudy.themes.codebook import Codebook, CodebookError, load_codebook
from pcnstudy.themes.coding import code_texts, doc_themes_table, quality_summary, topics_table
from pcnstudy.themes.human_codes import (LEARNING_SIZES, agreement_with_codes, codes_matrix,
                                        cross_validated_predictions, learning_curve)
from pcnstudy.themes.inputs import InputError, parse_free_topics, read_codes, read_texts
from pcnstudy.themes.outputs import write_csv, write_json
from pcnstudy.themes.qdpx import import_notes

SEED_RANGE = (0, 2**32 - 1)


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
            if Path(human_codes).suffix.lower() == ".qdpx" or zipfile.is_zipfile(human_codes):
                for line in import_notes(Path(human_codes), book):
                    print(f"note: {line}", file=sys.stderr)
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
    coding = code_texts(docs, book, k, seed, Y)
    model, scores, assigned, keyword = coding.model, coding.scores, coding.assigned, coding.keyword
    write_csv(doc_themes_table(ids, themes, scores), out / "doc_themes.csv")
    write_csv(topics_table(model), out / "topics.csv")
    quality = quality_summary(model, docs, keyword, assigned)
    if Y is not None:
        n_coded = int((Y >= 0).all(axis=1).sum())
        cv_pred = cross_validated_predictions(docs, book, Y, seed) if n_coded >= 6 else assigned
        agreement = agreement_with_codes(ids, themes, Y, cv_pred, keyword, codes)
        write_csv(agreement, out / "agreement.csv")
        outside = agreement[~agreement["in_codebook"] & (agreement["method"] == "model")]
        agreement = agreement[agreement["in_codebook"]]
        quality["human_codes"] = {
            "n_coded_documents": n_coded,
            "n_codes": int((codes["theme"] != "").sum()),
            "model_evaluation": "3-fold cross-validated over the coded documents" if n_coded >= 6 else "in-sample",
            "model": summarise_agreement(agreement[agreement["method"] == "model"]),
            "keyword": summarise_agreement(agreement[agreement["method"] == "keyword"]),
            "codes_outside_codebook": {row.theme: int(row.n_gold) for row in outside.itertuples(index=False)},
        }
        coded_pos = Y[(Y >= 0).all(axis=1)].sum(axis=0)
        if n_coded >= 30 and (coded_pos >= 3 * min(LEARNING_SIZES) // 2).any():
            curve = learning_curve(docs, book, Y, seed)
            write_csv(curve, out / "learning_curve.csv")
            quality["learning_curve"] = curve.to_dict(orient="records")
    write_json(quality, out / "quality.json")
    return 0
