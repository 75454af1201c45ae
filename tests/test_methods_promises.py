"""Every analysis the paper's Methods promise is shown in the paper or its supplement.

``PROMISES`` is the maintained list of the estimators, tests, intervals, adjustments and
models the Methods section of paper/index.qmd names: for each, the words that name it
there, the references cited for it, the stage variable that names it (where the name is
written by the stage that used it: ``scores.methods.*`` in scores.json) and where its
result is shown: a column of a paper table (``Table``: the table's file under
paper/tables, the statistic's key in scores.json/themes.json and the column's heading),
a figure, a sentence of the Results read from the results (``Prose``) or a column of a
file of the supplementary tables bundle (``Bundle``), for what the Methods themselves
say is "in the results files".

The fast tests read the Methods and the code: every reference the Methods cite is either
some promise's or declared not to name an analysis (``NOT_ANALYSES``), so a method added
to the Methods without a place to show it fails here; every promise is still named there;
every promised table is included by the paper and has the promised column. The slow test
(``built_project``: one ``dvc repro`` of a copy of the repository) reads the rendered tables,
variables and bundle and checks that each promised column holds results.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

import pytest
import yaml

from conftest import ROOT
from pcnstudy.paper import tables

INDEX = ROOT / "paper" / "index.qmd"


@dataclass(frozen=True)
class Table:
    """A column of a paper table: ``paper/tables/<stem>.md``, statistic ``key``, heading ``header``."""

    stem: str
    key: str | None
    header: str


@dataclass(frozen=True)
class Figure:
    label: str


@dataclass(frozen=True)
class Prose:
    """A variable the Results read (a number or sentence written from the results)."""

    var: str


@dataclass(frozen=True)
class Bundle:
    """A column of a CSV in the supplementary tables bundle."""

    path: str
    column: str


@dataclass(frozen=True)
class Promise:
    name: str
    pattern: str  # a regular expression matched in the Methods section (case-insensitive)
    shown: tuple
    cites: tuple[str, ...] = ()
    var: str | None = None  # the stage variable that names the method in the Methods


PROMISES = (
    Promise("mean change with its t interval", r"mean change in scale points with its t-based",
            (Table("change", "mean_diff", "Mean change"), Table("change", "diff_ci_low", "95% CI"))),
    Promise("percent of maximum possible change (POMP)", r"POMP",
            (Table("effects", "pct_pomp", "% of maximum"), Table("effects", "pct_pomp_ci_low", "95% CI (% of maximum)")),
            cites=("cohen1999",), var="scores.methods.effects.pomp"),
    Promise("percentage change with a delta-method interval", r"delta method on the log ratio of the paired means",
            (Table("change", "pct_change", "% change"), Table("change", "pct_ci_low", "95% CI (%)"))),
    Promise("percentile bootstrap of the percentage change", r"percentile\s+bootstrap",
            (Bundle("scores/change_scores.csv", "pct_boot_ci_low"),)),
    Promise("paired t-test", r"var scores\.methods\.change\.test",
            (Table("tests", "p_t", "p (t)"),), var="scores.methods.change.test"),
    Promise("Wilcoxon signed-rank test", r"var scores\.methods\.change\.nonparametric >",
            (Table("tests", "p_wilcoxon", "p (Wilcoxon)"),), cites=("wilcoxon1945",),
            var="scores.methods.change.nonparametric"),
    Promise("Cohen's dz with its interval", r"Cohen's d~z~",
            (Table("effects", "dz", "d~z~"), Table("tests", "dz_ci_low", "95% CI (d~z~)")),
            var="scores.methods.effects.dz_ci"),
    Promise("d_av with its interval", r"d~av~, the mean change over the average",
            (Table("effects", "d_av", "d~av~"), Table("effects", "d_av_ci_low", "95% CI (d~av~)")),
            cites=("lakens2013",), var="scores.methods.effects.d_av_ci"),
    Promise("Hedges' g_av", r"Hedges' g~av~",
            (Table("effects", "g_av", "g~av~"), Table("effects", "g_av_ci_low", "95% CI (g~av~)")),
            var="scores.methods.effects.hedges_j"),
    Promise("matched-pairs rank-biserial correlation", r"var scores\.methods\.change\.nonparametric_effect",
            (Table("tests", "rank_biserial", "Rank-biserial r"),), var="scores.methods.change.nonparametric_effect"),
    Promise("Holm adjustment", r"var scores\.methods\.change\.adjustment >",
            (Table("change", "p_holm", "p (Holm)"), Table("tests", "p_holm", "p (Holm)")), cites=("holm1979",),
            var="scores.methods.change.adjustment"),
    Promise("Benjamini-Hochberg adjustment", r"var scores\.methods\.change\.adjustment_sensitivity",
            (Table("tests", "p_bh", "p (Benjamini-Hochberg)"),), cites=("benjamini1995",),
            var="scores.methods.change.adjustment_sensitivity"),
    Promise("linear mixed model", r"linear mixed\s+model",
            (Table("mixed", "estimate", "Estimate"), Table("mixed", "n_obs", "Observations")), cites=("laird1982",)),
    Promise("proportional-odds (ordinal) sensitivity analysis", r"var scores\.methods\.ordinal\.model",
            (Table("ordinal", "odds_ratio", "Odds ratio"), Table("ordinal", "or_ci_low", "95% CI (odds ratio)")),
            cites=("mccullagh1980",), var="scores.methods.ordinal.model"),
    Promise("Cronbach's alpha with its interval", r"Cronbach's alpha",
            (Table("reliability", "alpha", "Alpha"), Table("reliability", "ci_low", "95% CI")),
            cites=("cronbach1951", "feldt1987"), var="scores.methods.reliability.ci"),
    Promise("Wilson score intervals of the feedback", r"Wilson score\s+intervals",
            (Table("feedback", "pct", "% yes"), Table("feedback", "pct_ci_low", "95% CI (%)")), cites=("wilson1927",)),
    Promise("random-effects meta-analysis (REML)", r"var scores\.methods\.meta\.estimator >",
            (Table("meta_programmes", "estimate", "Estimate"), Table("meta_estimators", "tau2", "tau²")),
            var="scores.methods.meta.estimator"),
    Promise("DerSimonian-Laird estimator as a sensitivity analysis", r"var scores\.methods\.meta\.estimator_sensitivity",
            (Table("meta_estimators", "estimate", "Estimate"),), cites=("dersimonian1986",),
            var="scores.methods.meta.estimator_sensitivity"),
    Promise("I²", r"I²", (Table("meta", "i2", "I² (%)"), Table("meta_programmes", "i2", "I² (%)")),
            cites=("higgins2002",)),
    Promise("programme as the unit", r"programme as the unit",
            (Table("meta_programmes", "k", "k"),), var="scores.methods.meta.within_programme"),
    Promise("Hartung-Knapp intervals", r"var scores\.methods\.meta\.hk_ci",
            (Table("meta_programmes", "hk_ci_low", "Hartung-Knapp 95% CI"),), cites=("hartung2001", "sidik2002"),
            var="scores.methods.meta.hk_ci"),
    Promise("Wald intervals beside them", r"var scores\.methods\.meta\.ci >",
            (Table("meta_programmes", "ci_low", "95% CI"),), var="scores.methods.meta.ci"),
    Promise("prediction interval", r"var scores\.methods\.meta\.pi",
            (Table("meta_programmes", "pi_low", "95% prediction interval"),), cites=("higgins2009",),
            var="scores.methods.meta.pi"),
    Promise("cohort-level pooling", r"cohort-level pooling",
            (Table("meta", "estimate", "Estimate"), Figure("fig-forest"))),
    Promise("response shift: then-test minus pre-test", r"then-test minus the\s+pre-test",
            (Table("then_test", "mean_diff", "Mean change"),), cites=("howard1979",)),
    Promise("regression to the mean", r"var scores\.methods\.bias\.rtm",
            (Table("bias", "r_baseline_change", "r (baseline, change)"), Table("bias", "r_oldham", "r (Oldham)")),
            cites=("oldham1962",), var="scores.methods.bias.rtm"),
    Promise("drop-out tipping point", r"var scores\.methods\.bias\.dropout",
            (Table("bias", "delta_tip", "Tipping delta"),), var="scores.methods.bias.dropout"),
    Promise("tipping point of the interval's bound", r"\(or its\s+interval's bound\)",
            (Prose("roles.lead.derived.dropout_sentence"),)),
    Promise("clustering within PCNs", r"var scores\.methods\.bias\.clustering",
            (Table("bias", "icc_pcn", "ICC (PCN)"), Table("bias", "cr_ci_low", "95% CI, clustered by PCN")),
            var="scores.methods.bias.clustering"),
    Promise("unpaired comparison: Welch's t-test", r"Welch's t-test",
            (Table("unpaired_change", "p_welch", "p (Welch)"),)),
    Promise("unpaired comparison: percentage change with a delta-method interval",
            r"log ratio of two independent means", (Table("unpaired_change", "pct_ci_low", "95% CI (%)"),)),
    Promise("unpaired comparison: linear model without a respondent effect", r"linear\s+model of score on wave "
            r"without a respondent effect", (Table("mixed", "estimate", "Estimate"),)),
    Promise("unpaired comparison: Mann-Whitney test and rank-biserial correlation", r"Mann-Whitney",
            (Table("unpaired_change", "p_mannwhitney", "p (Mann-Whitney)"),
             Table("unpaired_change", "rank_biserial", "Rank-biserial r"))),
    Promise("codebook coding by the seed-term rule and classifier", r"the seed-term\s+rule",
            (Table("themes", "prop", "%"),)),
    Promise("agreement of the coding with the seed-term rule (kappa)", r"Cohen's\s+kappa",
            (Prose("themes.derived.seed_rule_sentence"), Bundle("themes/seed_rule_agreement.csv", "kappa")),
            cites=("cohen1960",)),
    Promise("free topics by non-negative matrix factorisation", r"non-negative matrix factorisation",
            (Figure("fig-topic-terms"), Prose("themes.quality.n_free_topics")), cites=("zuo2016",)),
    Promise("topic coherence (NPMI) and stability", r"pointwise\s+mutual",
            (Prose("themes.quality.npmi_mean"), Prose("themes.quality.stability")), cites=("bouma2009",)),
    Promise("theme prevalence with Wilson intervals", r"Prevalence is the share",
            (Table("themes", "prop_ci_low", "95% CI (%)"), Table("themes_by_cohort", "prop", "%")),
            cites=("wilson1927",)),
    Promise("prevalence allowing for several responses by one person", r"cluster-robust variance of the share",
            (Table("themes", "deff", "Design effect"),
             Table("themes", "prop_cl_ci_low", "95% CI (%), clustered by respondent")),
            cites=("kish1965", "korn1998")),
    Promise("exemplar quotes by a fixed rule", r"exemplar quotes", (Table("quotes", None, "Quote"),)),
)

#: References the Methods cite that name no analysis whose result the paper must show.
NOT_ANALYSES = {
    "ocathain2008": "reporting guideline (GRAMMS)",
    "desjarlais2004": "reporting guideline (TREND)",
    "obrien2014": "reporting guideline (SRQR)",
    "tong2007": "reporting guideline (COREQ)",
    "phillips2016": "reporting guideline (GREET)",
    "se_multiprofessional": "seed evaluation describing the programme",
    "als_poster": "seed evaluation describing the programme and the codebook's source",
    "llr_case": "seed evaluation describing the programme",
    "east_lancs_case": "seed evaluation describing the programme",
    "kordowicz2021": "source of the codebook's themes",
    "braun2021": "names the kind of coding (codebook), not an analysis",
    "braun2006": "names what the coding is not (reflexive thematic analysis)",
    "bird2009": "software of the text preprocessing",
    "krippendorff2018": "agreement with analysts' codes: the Methods say no analyst reviewed this rendering",
}


def methods_section(text: str) -> str:
    """The Methods section of the paper: from its heading to the Results heading."""
    start = re.search(r"^# Methods\s*$", text, re.M)
    end = re.search(r"^# Results\s*$", text, re.M)
    assert start and end and start.end() < end.start(), "paper/index.qmd has no '# Methods' before '# Results'"
    return text[start.end():end.start()]


def cited(text: str) -> set[str]:
    return set(re.findall(r"@([A-Za-z][\w:-]*[A-Za-z0-9])", " ".join(re.findall(r"\[[^\]]*@[^\]]*\]", text))))


@pytest.fixture(scope="module")
def methods() -> str:
    return methods_section(INDEX.read_text(encoding="utf-8"))


def test_every_reference_of_the_methods_is_a_listed_method_or_declared(methods):
    claimed = {key for p in PROMISES for key in p.cites} | set(NOT_ANALYSES)
    unlisted = sorted(cited(methods) - claimed)
    assert not unlisted, f"the Methods cite {unlisted}: add each to PROMISES (where it is shown) or NOT_ANALYSES"


def test_every_listed_method_is_named_in_the_methods(methods):
    missing = [p.name for p in PROMISES if not re.search(p.pattern, methods, re.I)]
    assert not missing, f"no longer named in the Methods (update PROMISES): {missing}"
    uncited = [(p.name, key) for p in PROMISES for key in p.cites if f"@{key}" not in methods]
    assert not uncited, f"listed citations the Methods no longer make: {uncited}"


def test_stage_names_of_methods_are_read_from_the_stage(methods):
    """A method the stage names is quoted from scores.json's ``methods``, not retyped."""
    from pcnstudy.scores.scores_json import METHODS

    for p in PROMISES:
        if p.var is None:
            continue
        assert f"{{{{< var {p.var} >}}}}" in methods, f"{p.name}: the Methods do not read {p.var}"
        section, key = p.var.split(".")[2:]
        assert METHODS.get(section, {}).get(key), f"{p.name}: the scores stage writes no {p.var}"


def test_every_promised_table_column_and_figure_is_in_the_paper(methods):
    """Each promised table is included by the paper (main text or supplement) and shows the
    promised statistic under the promised heading; each figure is placed."""
    qmd = INDEX.read_text(encoding="utf-8")
    missing = []
    for p in PROMISES:
        for where in p.shown:
            if isinstance(where, Table):
                if f"{{{{< include tables/{where.stem}.md >}}}}" not in qmd:
                    missing.append(f"{p.name}: table {where.stem} is not in the paper")
                elif where.key is not None and where.key not in tables.TABLE_COLUMNS.get(where.stem, []):
                    missing.append(f"{p.name}: table {where.stem} has no column {where.key}")
                elif where.key is not None and tables.stat_header(where.key, "95") != where.header:
                    missing.append(f"{p.name}: {where.stem}.{where.key} is headed "
                                   f"{tables.stat_header(where.key, '95')!r}, not {where.header!r}")
            elif isinstance(where, Figure) and f"{{#{where.label}}}" not in qmd:
                missing.append(f"{p.name}: figure {where.label} is not in the paper")
            elif isinstance(where, Prose) and f"{{{{< var {where.var} >}}}}" not in qmd.replace(methods, ""):
                missing.append(f"{p.name}: the Results do not read {where.var}")
    assert not missing, "\n".join(missing)


def _table_columns(markdown: str) -> dict[str, list[str]]:
    """{heading: [cells]} of the first pipe table in ``markdown``."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    header, body = split[0], [r for r in split[2:] if len(r) == len(split[0])]
    return {h: [r[i] for r in body] for i, h in enumerate(header)}


@pytest.mark.slow
def test_every_promised_result_is_shown_in_the_built_paper(built_project):
    """After ``dvc repro``: each promised column holds results, each figure and variable exists,
    and each promised bundle file carries the promised column."""
    paper = built_project / "paper"
    variables = yaml.safe_load((paper / "_variables.yml").read_text(encoding="utf-8"))
    with zipfile.ZipFile(paper / "_output" / "supplementary-tables.zip") as bundle:
        members = {name: bundle.read(name).decode("utf-8") for name in bundle.namelist() if name.endswith(".csv")}
    empty = {"", "NA", "none"}
    problems = []
    for p in PROMISES:
        for where in p.shown:
            if isinstance(where, Table):
                path = paper / "tables" / f"{where.stem}.md"
                cells = _table_columns(path.read_text(encoding="utf-8")).get(where.header) if path.is_file() else None
                if not path.is_file():
                    problems.append(f"{p.name}: the paper has no table {where.stem}.md")
                elif cells is None:
                    problems.append(f"{p.name}: {where.stem}.md has no column {where.header!r}")
                elif all(c in empty for c in cells):
                    problems.append(f"{p.name}: {where.stem}.md column {where.header!r} is empty")
            elif isinstance(where, Figure):
                if not (paper / "figures" / f"{where.label}.png").is_file():
                    problems.append(f"{p.name}: no figure {where.label}")
            elif isinstance(where, Prose):
                node = variables
                for part in where.var.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                if node in (None, ""):
                    problems.append(f"{p.name}: variable {where.var} is not written")
            elif isinstance(where, Bundle):
                name = next((n for n in members if n.endswith(where.path)), None)
                if name is None:
                    problems.append(f"{p.name}: the bundle has no {where.path}")
                elif where.column not in next(csv.reader(io.StringIO(members[name]))):
                    problems.append(f"{p.name}: {where.path} in the bundle has no column {where.column}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- the names against the code
# Where the Methods read a method's name from the stage, these check the name says what the code does.

def test_the_adjustments_named_are_the_ones_computed():
    import numpy as np
    import pandas as pd

    from pcnstudy.scores import change

    assert set(change.ADJUSTMENT_NAMES) == set(change.ADJUSTMENTS)
    assert {f"p_{m}" for m in change.ADJUSTMENTS} <= set(change.CHANGE_COLUMNS)
    assert change.CHANGE_METHODS["adjustment"] == change.ADJUSTMENT_NAMES[change.HEADLINE_ADJUSTMENT]
    assert change.CHANGE_METHODS["adjustment_sensitivity"] == change.ADJUSTMENT_NAMES[change.SENSITIVITY_ADJUSTMENT]
    # the headline adjustment is the change table's, the sensitivity one the tests table's
    assert f"p_{change.HEADLINE_ADJUSTMENT}" in tables.TABLE_COLUMNS["change"]
    assert f"p_{change.SENSITIVITY_ADJUSTMENT}" in tables.TABLE_COLUMNS["tests"]
    # R: p.adjust(c(.01, .02, .03, .04, .05), "holm") and (..., "BH")
    p = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    assert np.allclose(change.adjust_pvalues(p, "holm"), [0.05, 0.08, 0.09, 0.09, 0.09])
    assert np.allclose(change.adjust_pvalues(p, "bh"), [0.05] * 5)
    # the family is the domains (separately the items) of one cohort and wave, as the Methods say
    rng = np.random.default_rng(3)
    rows = [{"respondent": f"r{r}", "cohort": c, "wave": w, "item": f"{d}_{i}", "domain": d,
             "score": float(np.clip(round(3 + (w == "end") * rng.normal(0.4, 1)), 1, 5))}
            for c in ("a", "b") for r in range(12) for w in ("baseline", "end")
            for d in ("lead", "sys", "part") for i in (1, 2)]
    table = change.change_table(pd.DataFrame(rows), ["baseline", "end"], pooled=False)
    assert change.ADJUSTMENT_FAMILY == ("cohort", "wave_to", "level")
    for _, fam in table.groupby(list(change.ADJUSTMENT_FAMILY)):
        assert np.allclose(fam["p_holm"], change.adjust_pvalues(fam["p_t"].to_numpy(), "holm"), equal_nan=True)
        assert np.allclose(fam["p_bh"], change.adjust_pvalues(fam["p_t"].to_numpy(), "bh"), equal_nan=True)
    assert set(table.loc[table["level"] == "domain", "item"]) == {"lead", "sys", "part"}


def test_the_wilcoxon_test_and_rank_biserial_are_as_named():
    import numpy as np
    from scipy import stats

    from pcnstudy.scores import change

    name = change.CHANGE_METHODS["nonparametric"]
    assert name.startswith("Wilcoxon signed-rank") and f"exact below {change.WILCOXON_EXACT_BELOW}" in name
    untied = np.arange(1, change.WILCOXON_EXACT_BELOW, dtype=float) * np.where(
        np.arange(1, change.WILCOXON_EXACT_BELOW) % 3 == 0, -1, 1)
    v, p, method, n = change.wilcoxon_signed_rank(untied)
    assert (method, n) == ("exact", change.WILCOXON_EXACT_BELOW - 1)
    assert p == pytest.approx(stats.wilcoxon(untied, method="exact").pvalue)
    _, _, method, _ = change.wilcoxon_signed_rank(np.append(untied, change.WILCOXON_EXACT_BELOW))
    assert method == "normal"
    tied = np.array([0, 1, 1, 2, -1, 3, 2, 0, 1, 4])  # zeros dropped, ties: normal approximation, corrected
    v, p, method, n = change.wilcoxon_signed_rank(tied)
    assert (method, n) == ("normal", 8)
    assert p == pytest.approx(stats.wilcoxon(tied, zero_method="wilcox", correction=True, method="approx").pvalue)
    assert "rank-biserial" in change.CHANGE_METHODS["nonparametric_effect"]
    assert change.rank_biserial([1, 2, 3, -4]) == pytest.approx((6 - 4) / 10)  # (T+ - T-) / (T+ + T-)


def test_the_meta_estimator_named_is_the_headline_one():
    import pandas as pd

    from pcnstudy.scores import meta
    from pcnstudy.scores.scores_json import _meta_tree

    assert meta.META_METHODS["estimator"] == meta.META_ESTIMATORS[meta.HEADLINE_ESTIMATOR]
    assert meta.META_METHODS["estimator_sensitivity"] == meta.META_ESTIMATORS[meta.SENSITIVITY_ESTIMATOR]
    assert "restricted maximum-likelihood" in meta.META_METHODS["estimator"]
    assert "DerSimonian" in meta.META_METHODS["estimator_sensitivity"]
    rows = [meta.random_effects([0.3, 0.9, 0.5], [0.01, 0.02, 0.015], method=m) | {"domain": "d", "method": m,
                                                                                 "cohorts": "a;b;c"}
            for m in meta.META_ESTIMATORS]
    tree = _meta_tree(pd.DataFrame(rows))["d"]
    assert tree["estimate"] == tree[meta.HEADLINE_ESTIMATOR]["estimate"] != tree[meta.SENSITIVITY_ESTIMATOR]["estimate"]
    assert set(tables.ESTIMATOR_LABELS) == set(meta.META_ESTIMATORS)


def test_reliability_interval_is_feldts_at_the_stage_level():
    import numpy as np

    from pcnstudy.scores.reliability import RELIABILITY_METHODS, cronbach_alpha

    assert "Feldt" in RELIABILITY_METHODS["ci"]
    rng = np.random.default_rng(5)
    items = rng.normal(size=(40, 1)) + rng.normal(scale=0.8, size=(40, 4))
    a95, lo95, hi95, _ = cronbach_alpha(items, 0.95)
    a90, lo90, hi90, _ = cronbach_alpha(items, 0.90)
    assert a95 == a90 and lo95 < lo90 < a90 < hi90 < hi95
    stage = (ROOT / "src" / "pcnstudy" / "scores" / "stage.py").read_text(encoding="utf-8")
    assert "reliability_table(long_all, ci=1 - alpha)" in stage  # the paper's level, not a fixed 95%
