"""What the paper's prose says, chosen by rule from the results so that no cohort is named in it.

Takes the results trees (scores.json, themes.json), the cohorts analysed (records of
data/processed/cohorts.parquet, ``pcnstudy.paper.inputs.cohort_records``), the
instrument and codebook configs and params.yaml, and gives:

- ``study_roles``: the cohorts the prose speaks of (``roles.lead``, ``roles.then_test``,
  ``roles.feedback``) with their results subtrees;
- ``feedback_prose``: the sentences about the feedback cohort's yes/no items;
- ``bias_statements``: the lead cohort's regression-to-the-mean and drop-out checks in words;
- ``paper_conditions``: the flags of the conditional prose (``_study.yml``);
- ``derived_results``, ``derived_params``, ``config_facts``, ``study_facts``: facts the
  prose states that follow from the results, params.yaml, the configs and the cohorts;
- ``design_prose``, ``design_conditions``: the sentences and flags about cohorts whose
  change cannot be paired (unpaired: the waves could not be linked; single wave).
"""
from __future__ import annotations

from typing import Any, Mapping

from pcnstudy.core.labels import cohort_labels
from pcnstudy.paper.disclosure_notes import band_bounds, band_percent
from pcnstudy.paper.inputs import SIMULATED
from pcnstudy.paper.values import conf_pct, flatten, format_value, prose_percent


def lower_first(text: str) -> str:
    """'Action learning sets' -> 'action learning sets', for use mid-sentence.

    A first word that is 'I' or an acronym ('PCN leads', 'GP federation') is kept.
    """
    first = text.split(" ", 1)[0]
    if first == "I" or first.startswith("I'") or first[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def join_and(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --------------------------------------------------------------------------- study roles


def _largest(tree: Mapping[str, Any] | None, size: Any) -> str | None:
    """The key of ``tree`` whose subtree has the largest ``size`` (a tuple of counts, compared
    in order; ties go to the first id); None when every size is zero."""
    sized = [(size(sub), key) for key, sub in (tree or {}).items()
             if key != "pooled" and isinstance(sub, Mapping)]
    sized = [(s, key) for s, key in sized if any(s)]
    if not sized:
        return None
    best = max(s for s, _ in sized)
    return min(key for s, key in sized if s == best)


def _max_count(tree: Any, name: str) -> int:
    """Largest numeric ``name`` anywhere in a results subtree (e.g. n_pairs over domains)."""
    counts = [v for k, v in flatten(tree).items() if k.rsplit(".", 1)[-1] == name and isinstance(v, (int, float))]
    return int(max(counts)) if counts else 0


def _with_pre_test(then_test: Mapping[str, Any] | None, pre_test: bool) -> dict[str, Any]:
    """The then-test cohorts that have (``pre_test``) or lack a prospective pre-test (a ``then_vs_pre`` row)."""
    out = {}
    for cohort, domains in (then_test or {}).items():
        has = isinstance(domains, Mapping) and any(isinstance(d, Mapping) and "then_vs_pre" in d
                                                   for d in domains.values())
        if has == pre_test:
            out[cohort] = domains
    return out


def study_roles(scores: Mapping[str, Any], cohorts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The cohorts the paper's prose speaks of, chosen by rule from the results.

    - ``lead``: the cohort with the most complete baseline-to-end pairs (its change,
      mixed model and attrition are quoted in the text);
    - ``then_test``: of the cohorts with a retrospective then-test beside a pre-test, the one with
      most pairs;
    - ``retrospective``: of the cohorts surveyed once with a then-test (no pre-test: their
      then-vs-now change alone), the one with most pairs;
    - ``feedback``: the cohort with the most yes/no feedback items, then the most respondents.

    Each role holds the cohort's id, programme, plain label (``label``, ``label_lower``:
    the programme, numbered where it ran several cohorts; the prose names a cohort by it,
    never by its id) and its results subtrees, so the prose reads
    ``roles.lead.change.<domain>.pct_change`` whatever cohorts a run includes.
    A role without a cohort is absent; ``paper_conditions`` hides the prose about it.
    """
    programmes = {str(c.get("cohort")): str(c.get("programme") or c.get("cohort")) for c in cohorts}
    labels = cohort_labels(cohorts)
    picks = {
        "lead": _largest(scores.get("change"), lambda t: (_max_count(t, "n_pairs"),)),
        "then_test": _largest(_with_pre_test(scores.get("then_test"), True), lambda t: (_max_count(t, "n_pairs"),)),
        "retrospective": _largest(_with_pre_test(scores.get("then_test"), False),
                                  lambda t: (_max_count(t, "n_pairs"),)),
        "feedback": _largest(scores.get("feedback"), lambda t: (len(t), _max_count(t, "n"))),
    }
    roles: dict[str, Any] = {}
    for role, cohort in picks.items():
        if cohort is None:
            continue
        programme = programmes.get(cohort, cohort)
        label = labels.get(cohort, programme)
        rec: dict[str, Any] = {"cohort": cohort, "programme": programme, "programme_lower": lower_first(programme),
                               "label": label, "label_lower": lower_first(label)}
        if role == "lead":
            for part in ("change", "mixed", "attrition", "effects", "bias"):
                if cohort in (scores.get(part) or {}):
                    rec[part] = scores[part][cohort]
        elif role in ("then_test", "retrospective"):
            rec["change"] = scores["then_test"][cohort]
        else:
            rec["items"] = scores["feedback"][cohort]
        roles[role] = rec
    return roles


def feedback_prose(roles: Mapping[str, Any], instrument: Mapping[str, Any] | None) -> dict[str, str]:
    """Sentences about the feedback cohort's yes/no items, for whichever items it was asked.

    Every item is spoken of, whether disclosure control hid its share or not, so that no
    sentence reports only what survived suppression. ``roles.feedback.sentence``: each
    item's share (or, where it is hidden, its published band, e.g. '80–95%') and
    wording, in the instrument's order, then the items hidden without a band;
    ``roles.feedback.summary``: the range over all items, for the abstract, saying how
    many shares are shown only as ranges or not at all.
    """
    fb = roles.get("feedback")
    if not fb:
        return {}
    wording = {f["id"]: str(f.get("text") or f["id"]) for f in (instrument or {}).get("feedback") or []}
    order = [i for i in wording if i in fb["items"]] + sorted(i for i in fb["items"] if i not in wording)
    told, hidden = [], []  # told: (item, low, high, text, quote)
    for item in order:
        rec = fb["items"][item] or {}
        pct = rec.get("pct")
        quote = "“" + lower_first(wording.get(item, item).rstrip(".")) + "”"
        bounds = band_bounds(rec.get("pct_band"))
        if isinstance(pct, (int, float)):
            told.append((item, float(pct), float(pct), prose_percent("pct", pct), quote))
        elif bounds is not None:
            told.append((item, bounds[0], bounds[1], band_percent(rec["pct_band"]), quote))
        else:
            hidden.append((item, quote))
    parts = []
    if told:
        parts.append(join_and([f"{text} answered yes to {quote}" for _, _, _, text, quote in told]))
    if hidden:
        noun = "share" if len(hidden) == 1 else "shares"
        parts.append(f"the {noun} for {join_and([q for _, q in hidden])} "
                     f"{'is' if len(hidden) == 1 else 'are'} hidden by disclosure control")
    n_band = sum(1 for _, lo, hi, _, _ in told if lo != hi)
    n_items = len(order)
    items = "its feedback item" if n_items == 1 else f"its {n_items} feedback items"
    if not told:
        summary = f"the shares answering yes to {items} are hidden by disclosure control"
    else:
        low = min(lo for _, lo, _, _, _ in told)
        high = max(hi for _, _, hi, _, _ in told)
        span = (prose_percent("pct", low) if low == high
                else f"between {prose_percent('pct', low)} and {prose_percent('pct', high)}")
        summary = f"{span} answered yes to " + ("each of " if n_items > 1 else "") + items
        notes = []
        if n_band:
            notes.append(f"{n_band} of them shown only as a range by disclosure control" if n_items > 1
                         else "shown only as a range by disclosure control")
        if hidden:
            notes.append(f"{len(hidden)} hidden" + (" and not counted in that range" if told else ""))
        if notes:
            summary += " (" + "; ".join(notes) + ")"
    return {"roles.feedback.sentence": "; ".join(parts), "roles.feedback.summary": summary}


def paper_conditions(results: Mapping[str, Any], roles: Mapping[str, Any], cohorts: list[Mapping[str, Any]],
                     restricted: bool) -> dict[str, bool]:
    """Metadata flags for the paper's conditional prose (``.content-visible when-meta=...``).

    ``cohorts`` are the cohorts analysed (the processed cohorts table); ``restricted``
    says params.yaml ``cohorts`` lists some of the study's cohorts rather than all.
    ``study_is_twin`` (the prose names the twin's cohorts) holds when every cohort is
    simulated and the run is not restricted to some of them.
    """
    scores = results.get("scores") or {}
    meta = scores.get("meta") or {}
    lead = roles.get("lead") or {}
    simulated = bool(cohorts) and all(c.get("data") == SIMULATED for c in cohorts)
    coverage = (results.get("twin") or {}).get("coverage") or {}
    return {
        "study_all_simulated": simulated,
        "study_is_twin": simulated and not restricted,
        "study_has_lead": "change" in lead,
        "study_has_mixed": bool((lead.get("mixed") or {})),
        "study_has_attrition": bool(lead.get("attrition")),
        "study_has_meta": any(int((rec or {}).get("k") or 0) >= 2 for rec in meta.values()),
        "study_has_meta_programmes": any(int((rec or {}).get("k") or 0) >= 2
                                         for rec in (scores.get("meta_programmes") or {}).values()),
        "study_has_then_test": "then_test" in roles,
        "study_has_retrospective": "retrospective" in roles,
        "study_has_feedback": "feedback" in roles,
        "study_has_themes": bool((results.get("themes") or {}).get("themes")),
        "study_has_twin_check": bool((results.get("twin") or {}).get("n_cohorts")),
        # the twin check's coverage study: paired cohorts, an unlinked cohort, cohorts pooled
        "study_has_twin_coverage": "paired_t" in coverage,
        "study_has_twin_coverage_unpaired": "welch" in coverage,
        "study_has_twin_coverage_pooled": "meta_hk" in coverage,
    }


# --------------------------------------------------------------------------- derived facts


def derived_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Numbers the prose needs that follow from params.yaml (e.g. the confidence level)."""
    out: dict[str, str] = {}
    alpha = (params.get("scores") or {}).get("alpha")
    if isinstance(alpha, (int, float)):
        out["params.derived.conf_pct"] = conf_pct(alpha)
    return out


def meta_statements(scores: Mapping[str, Any]) -> dict[str, str]:
    """Per domain of the programme-level meta-analysis (scores.json ``meta_programmes``), a
    plain statement of its prediction interval: its range where it is informative, else
    that it is not (too few programmes, or wider than the rating scale).

    Keys ``scores.derived.meta_programmes.<domain>.pi_sentence``.
    """
    out: dict[str, str] = {}
    for domain, rec in ((scores or {}).get("meta_programmes") or {}).items():
        if not isinstance(rec, Mapping):
            continue
        k = int(rec.get("k") or 0)
        low, high = rec.get("pi_low"), rec.get("pi_high")
        shown = isinstance(low, (int, float)) and isinstance(high, (int, float))
        if rec.get("pi_informative") and shown:
            text = (f"the change a further programme could expect lies between {format_value('x', low)} and "
                    f"{format_value('x', high)} scale points (prediction interval)")
        elif k < 3:
            text = (f"with {k} programme{'s' if k != 1 else ''} the prediction interval is uninformative and is "
                    "not interpreted: it cannot say what change a further programme would bring")
        else:
            text = ("the prediction interval is wider than the rating scale, so it says nothing about the "
                    "change a further programme would bring")
        out[f"scores.derived.meta_programmes.{domain}.pi_sentence"] = text
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def bias_statements(roles: Mapping[str, Any], instrument: Mapping[str, Any] | None,
                    domain: str = "leadership") -> dict[str, str]:
    """The lead cohort's bias checks in words, chosen by rule from its results (scores.json ``bias``).

    ``roles.lead.derived.rtm_sentence``: whether Oldham's correlation (free of regression
    to the mean) says change depended on the starting level (its CI excludes 0) or not;
    ``roles.lead.derived.dropout_sentence``: the tipping point, said to exceed the
    scale's range where it does, or that disclosure control hides it.
    """
    rec = ((roles.get("lead") or {}).get("bias") or {}).get(domain)
    if not isinstance(rec, Mapping):
        return {}
    out: dict[str, str] = {}
    r, low, high = (_number(rec.get(k)) for k in ("r_oldham", "r_oldham_ci_low", "r_oldham_ci_high"))
    if r is not None and low is not None and high is not None:
        shown = f"r {format_value('r', r)}, {format_value('r', low)} to {format_value('r', high)}"
        if low <= 0 <= high:
            out["roles.lead.derived.rtm_sentence"] = (
                f"Oldham's correlation of the two waves' mean with the change, which regression to the mean does "
                f"not produce, gave little sign that change depended on the starting level ({shown}), so the "
                f"lowest scorers' larger gains are what regression to the mean alone would give")
        else:
            direction = "larger" if r < 0 else "smaller"
            out["roles.lead.derived.rtm_sentence"] = (
                f"Oldham's correlation of the two waves' mean with the change, which regression to the mean does "
                f"not produce, suggests that those starting lower truly gained {direction} ({shown})")
    tip, tip_ci, tip_sd = (_number(rec.get(k)) for k in ("delta_tip", "delta_tip_ci", "delta_tip_sd"))
    scale = (instrument or {}).get("scale") or {}
    width = (_number(scale.get("max")) or 0) - (_number(scale.get("min")) or 0)
    if tip is None:
        lost = rec.get("n_lost")
        out["roles.lead.derived.dropout_sentence"] = (
            "No respondent was lost between the waves, so drop-out cannot have biased the change"
            if lost == 0 else "The drop-out sensitivity analysis is hidden by disclosure control (few were lost)")
    else:
        name = str(((instrument or {}).get("domains") or {}).get(domain, {}).get("name", domain))
        text = (f"For the mean change in {lower_first(name)} to vanish, the respondents lost by the end would have "
                f"had to change {format_value('d', abs(tip))} scale points {'less' if tip > 0 else 'more'} than "
                f"the completers ({format_value('d', abs(tip_sd)) if tip_sd is not None else 'NA'} standard "
                f"deviations of change)")
        if width > 0 and abs(tip) > width:
            text += ", more than the whole range of the scale"
        if tip_ci is not None:
            text += f"; for its confidence interval to reach zero, {format_value('d', abs(tip_ci))} points"
        out["roles.lead.derived.dropout_sentence"] = text
    return out


def derived_results(results: Mapping[str, Any]) -> dict[str, str]:
    """Facts the prose states that follow from the results, e.g. the most prevalent theme,
    and the prediction-interval statements of ``meta_statements``."""
    out: dict[str, str] = meta_statements(results.get("scores") or {})
    themes = (results.get("themes") or {}).get("themes") or {}
    ranked = sorted(((rec.get("prop"), tid) for tid, rec in themes.items()
                     if isinstance(rec, Mapping) and isinstance(rec.get("prop"), (int, float))),
                    key=lambda pair: (-pair[0], pair[1]))
    if themes:
        out["themes.derived.n_themes"] = str(len(themes))
        for i, place in enumerate(("first", "second")):
            if i < len(ranked):
                prop, tid = ranked[i]
                name = str(themes[tid].get("name", tid))
            else:  # every prevalence suppressed: say so rather than leave a gap
                prop, tid, name = None, "", "a theme not shown (suppressed by disclosure control)"
            out[f"themes.derived.{place}.id"] = tid
            out[f"themes.derived.{place}.name"] = name
            out[f"themes.derived.{place}.name_lower"] = name[:1].lower() + name[1:]
            out[f"themes.derived.{place}.prop_text"] = prose_percent("prop", prop)
            rec = themes.get(tid) or {}
            for key, (lo, hi) in {"ci": ("prop_ci_low", "prop_ci_high"),
                                  "cl_ci": ("prop_cl_ci_low", "prop_cl_ci_high")}.items():
                low, high = rec.get(lo), rec.get(hi)
                both = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
                out[f"themes.derived.{place}.{key}_text"] = (
                    f"{format_value('prop', low)} to {format_value('prop', high)}%" if both else "not shown")
    out["themes.derived.seed_rule_sentence"] = seed_rule_sentence((results.get("themes") or {}).get("seed_rule"))
    return out


def seed_rule_sentence(seed_rule: Mapping[str, Any] | None) -> str:
    """What the model's agreement with the plain seed-term rule (themes.json ``seed_rule``) says."""
    rec = seed_rule or {}
    low, high, n, same = rec.get("kappa_min"), rec.get("kappa_max"), rec.get("n_themes") or 0, rec.get("n_identical")
    if not n or not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return "no theme's agreement with the seed-term rule could be shown"
    if same == n:
        return (f"the model's assignments were identical to the rule's for all {n} themes (kappa "
                f"{format_value('kappa', low)}): on this corpus the model added nothing beyond its seed terms, "
                "so the coding is in effect the seed-term rule")
    span = f"Cohen's kappa ran from {format_value('kappa', low)} to {format_value('kappa', high)} across {n} themes"
    if low >= 0.8:
        return f"{span}: the model adds little beyond its seed terms, and the coding is close to the seed-term rule"
    return f"{span}: for some themes the model's additions beyond the seed terms change the coding materially"


def config_facts(instrument: Mapping[str, Any] | None, codebook: Mapping[str, Any] | None) -> dict[str, str]:
    """Counts the methods section quotes from the instrument and codebook configs."""
    instrument = instrument or {}
    scale = instrument.get("scale") or {}
    facts = {
        "instrument.version": str(instrument.get("version", "")),
        "instrument.n_items": str(len(instrument.get("items") or [])),
        "instrument.n_domains": str(len(instrument.get("domains") or {})),
        "instrument.n_feedback": str(len(instrument.get("feedback") or [])),
        "instrument.n_questions": str(len(instrument.get("questions") or [])),
        "instrument.scale_min": str(scale.get("min", "")),
        "instrument.scale_max": str(scale.get("max", "")),
        "codebook.n_themes": str(len((codebook or {}).get("themes") or [])),
    }
    return {k: v for k, v in facts.items() if v != ""}


def study_facts(cohorts: list[Mapping[str, Any]]) -> dict[str, str]:
    """How many cohorts and PCNs the run analyses (a cohort without n_pcns counts none)."""
    return {"study.n_cohorts": str(len(cohorts)),
            "study.n_pcns": str(sum(int(c.get("n_pcns") or 0) for c in cohorts))}


# --------------------------------------------------------------------------- designs

#: Cohort designs (the cohorts table's ``design``; absent = paired) the prose speaks of.
UNPAIRED = "unpaired"
SINGLE_WAVE = "single_wave"
#: What every sentence and table label about an unpaired cohort says.
UNPAIRED_WORDING = "unpaired comparison of start and end respondents; the waves could not be linked"


def cohorts_by_design(cohorts: list[Mapping[str, Any]], design: str) -> list[Mapping[str, Any]]:
    """The cohort records whose ``design`` is ``design`` (a record without one is paired)."""
    return [c for c in cohorts if str(c.get("design") or "paired") == design]


def _p_text(key: str, value: Any) -> str:
    """'p = 0.012', 'p <0.001', or 'p suppressed' for running text."""
    shown = format_value(key, value)
    if isinstance(value, str):
        return "p suppressed"
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def design_prose(scores: Mapping[str, Any], cohorts: list[Mapping[str, Any]],
                 instrument: Mapping[str, Any] | None, conf: str = "95") -> dict[str, str]:
    """Sentences about the cohorts whose change cannot be paired.

    ``study.design.unpaired_sentence``: for each unpaired cohort (scores.json
    ``unpaired_change``), its change by domain as an unpaired comparison of start and end
    respondents, saying the waves could not be linked; ``study.design.single_wave_sentence``:
    the single-wave cohorts, for which nothing paired (no change) is attempted. A sentence
    is empty when no cohort has that design (``design_conditions`` then hides it).
    """
    names = {k: str((v or {}).get("name", k)) for k, v in ((instrument or {}).get("domains") or {}).items()}
    out = {"study.design.unpaired_sentence": "", "study.design.single_wave_sentence": ""}
    parts = []
    labels = cohort_labels(cohorts)
    for c in cohorts_by_design(cohorts, UNPAIRED):
        cohort = str(c.get("cohort"))
        programme = lower_first(labels.get(cohort, str(c.get("programme") or cohort)))
        domains = (scores.get("unpaired_change") or {}).get(cohort) or {}
        order = [d for d in names if d in domains] + sorted(d for d in domains if d not in names)
        said = []
        for d in order:
            rec = domains[d] or {}
            text = f"{lower_first(names.get(d, d))} by {prose_percent('pct_change', rec.get('pct_change'))}"
            if isinstance(rec.get("pct_change"), (int, float)):
                text += (f" ({conf}% CI {prose_percent('pct_ci_low', rec.get('pct_ci_low'))} to "
                         f"{prose_percent('pct_ci_high', rec.get('pct_ci_high'))}; Welch "
                         f"{_p_text('p_welch', rec.get('p_welch'))}, Mann-Whitney "
                         f"{_p_text('p_mannwhitney', rec.get('p_mannwhitney'))})")
            said.append(text)
        if said:
            parts.append(f"In the {programme} ({UNPAIRED_WORDING}) the mean domain scores changed: "
                         f"{join_and(said)}")
        else:
            parts.append(f"The {programme} had no change to report ({UNPAIRED_WORDING})")
    if parts:
        out["study.design.unpaired_sentence"] = ". ".join(parts) + "."
    single = cohorts_by_design(cohorts, SINGLE_WAVE)
    if single:
        ids = join_and([lower_first(labels.get(str(c.get("cohort")), str(c.get("cohort")))) for c in single])
        one = len(single) == 1
        out["study.design.single_wave_sentence"] = (
            f"{'The cohort' if one else 'The cohorts'} surveyed at a single wave ({ids}) "
            f"{'has' if one else 'have'} no change estimated and nothing paired is attempted; "
            f"{'its' if one else 'their'} proportions, reliability and themes are reported.")
    return out


def design_conditions(cohorts: list[Mapping[str, Any]]) -> dict[str, bool]:
    """Flags of the prose about designs: ``study_has_unpaired``, ``study_has_single_wave``."""
    return {"study_has_unpaired": bool(cohorts_by_design(cohorts, UNPAIRED)),
            "study_has_single_wave": bool(cohorts_by_design(cohorts, SINGLE_WAVE))}
