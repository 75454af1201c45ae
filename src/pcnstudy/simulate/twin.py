"""The simulated twin: seeded raw exports of the demonstration study, and their truth.

The seed studies' participant data are not public, so ``pcnstudy simulate`` writes
survey exports that mirror their designs (cohorts, PCNs, waves, attrition, question
wording) with population parameters calibrated to their published figures.

Takes: ``config/simulation.yml`` (cohorts, ratings model, text settings; its phrase
bank ``config/phrases.yml``), ``config/instrument.yml`` and a seed (params.yaml
``simulate.seed``).

Gives, per cohort, ``<out>/<cohort>/cohort.yml`` plus one export per wave (CSV or
XLSX; interview transcripts as ``interviews/*.txt``), and in ``<truth>/``:

- ``effects.json``: per cohort and domain the population mean of the observed domain
  score at each wave (``mean``), the true percent change of that mean from the first
  wave (``pct_change``), the true mixed-model wave effect (``wave_effect``: the
  population mean difference from the first wave, what ``score ~ wave`` with random
  intercepts estimates), then-test means where a cohort has one; plus the sample
  values realised in the written files, and feedback yes-counts.
- ``text_themes.csv``: response_id, cohort, wave, file, row, question, themes
  (``;``-joined true themes; response_id = ``{cohort}-{wave}-{row}-{question}`` with
  row the spreadsheet row; for interviews ``{cohort}-{wave}-{file stem}-{turn}``).
- ``pii.csv``: cohort, file, row, column, text_response_id, kind, string: every
  piece of personal data planted in free text.

In memory, for benchmarks that need many replicates (no files written)::

    spec = cohort_spec("<cohort id>")             # or a hand-written dict, see below
    rng = np.random.default_rng(1)
    long = simulate_ratings(spec, rng)            # respondent, cohort, pcn, wave, item, domain, score
    truth = true_effects(spec)                    # {domain: {mean, pct_change, wave_effect, ...}}
    # in a replicate loop: simulate_ratings(spec, rng, instrument, with_truth=False), ~0.08 s each

Text and personal data are composed by ``pcnstudy.simulate.text``.

A minimal hand-written spec: ``{"cohort": "x", "pcns": [...], "n_respondents": 40,
"waves": {"baseline": {"items": True}, "end": {"items": True}}, "attrition":
{"end": 0.15}, "ratings": {"pct_change": {"leadership": 0.24, ...}}}``; missing
ratings settings come from ``ratings_defaults`` of simulation.yml (or the built-in
``RATINGS_DEFAULTS``). Every random draw comes from the ``numpy.random.Generator``
passed in (files: one stream per cohort from ``(seed, crc32(cohort id))``), so the
same config and seed give byte-identical files.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
import shutil
import sys
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import brentq
from scipy.stats import norm

from pcnstudy.core import paths
from pcnstudy.simulate.xlsx import stable_xlsx
from pcnstudy.core.params import load_params, load_yaml
from pcnstudy.simulate.text import (  # noqa: F401  (re-exported)
    REGISTER,
    _ascii,
    _pick,
    _weighted_choice,
    add_typos,
    choose_themes,
    compose_text,
    make_nhs_number,
    make_pii,
    nhs_check_digit,
    write_answer,
)

THRESHOLDS = np.array([1.5, 2.5, 3.5, 4.5])  # rounding a latent score to 1..5
RATINGS_DEFAULTS: dict[str, Any] = {
    "base": {"leadership": 3.0, "systems": 2.6, "partners": 3.0},
    "item_offset": {},
    "sd_pcn": 0.15,
    "sd_respondent": 0.40,
    "sd_respondent_domain": 0.20,
    "sd_slope": 0.25,
    "sd_residual": 0.55,
    "item_missing": 0.03,
    "then_shift": {},
}
TEXT_DEFAULTS: dict[str, Any] = {
    "n_themes": [0.08, 0.47, 0.33, 0.12],
    "missing": 0.12,
    "missing_marker": 0.25,
    "typo": 0.08,
    "pii": 0.05,
    "pii_kinds": {"name": 0.35, "email": 0.15, "phone": 0.2, "nhs_number": 0.15, "postcode": 0.15},
}
TEXT_THEMES_COLUMNS = ["response_id", "cohort", "wave", "file", "row", "question", "themes"]
PII_COLUMNS = ["cohort", "file", "row", "column", "text_response_id", "kind", "string"]
RATINGS_COLUMNS = ["respondent", "cohort", "pcn", "wave", "item", "domain", "score"]


class SimulationConfigError(ValueError):
    """The simulation config is missing a key or holds a value the generator cannot use."""


# ----------------------------------------------------------------------------- config


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read simulation.yml (default ``config/simulation.yml``) and its phrase bank."""
    path = Path(path) if path else paths.CONFIG / "simulation.yml"
    config = load_yaml(path)
    if not isinstance(config, dict) or not isinstance(config.get("cohorts"), dict):
        raise SimulationConfigError(f"{path}: no 'cohorts' mapping")
    phrases = path.parent / config.get("phrases", "phrases.yml")
    config["_phrases"] = load_yaml(phrases)
    config["_path"] = str(path)
    return config


@lru_cache(maxsize=4)
def _instrument_cached(path: str) -> dict[str, Any]:
    return load_yaml(Path(path))


def load_instrument(path: Path | None = None) -> dict[str, Any]:
    """Read instrument.yml (default ``config/instrument.yml``)."""
    return copy.deepcopy(_instrument_cached(str(path or paths.INSTRUMENT)))


def cohort_spec(cohort: str, config: dict[str, Any] | Path | None = None) -> dict[str, Any]:
    """Return one cohort's spec from simulation.yml, with the ratings and text defaults merged in."""
    if not isinstance(config, dict):
        config = load_config(config)
    if cohort not in config["cohorts"]:
        raise SimulationConfigError(f"{config.get('_path', 'simulation.yml')}: no cohort {cohort!r}")
    spec = copy.deepcopy(config["cohorts"][cohort])
    spec["cohort"] = cohort
    ratings = copy.deepcopy(config.get("ratings_defaults", {}))
    for key, value in (spec.get("ratings") or {}).items():
        if isinstance(value, dict) and isinstance(ratings.get(key), dict):
            ratings[key] = {**ratings[key], **value}
        else:
            ratings[key] = value
    spec["ratings"] = ratings
    spec["text_defaults"] = {**TEXT_DEFAULTS, **config.get("text_defaults", {})}
    spec["professions"] = copy.deepcopy(config.get("professions", {}))
    return spec


def cohort_rng(seed: int, cohort: str) -> np.random.Generator:
    """The random stream of one cohort: independent of the other cohorts in the config."""
    return np.random.default_rng([int(seed), zlib.crc32(cohort.encode("utf-8"))])


def _wave_names(spec: dict[str, Any]) -> list[str]:
    waves = spec.get("waves")
    if not isinstance(waves, dict) or not waves:
        raise SimulationConfigError(f"cohort {spec.get('cohort')}: 'waves' must be a non-empty mapping")
    return list(waves)


def _ratings_settings(spec: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(RATINGS_DEFAULTS)
    for key, value in (spec.get("ratings") or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _item_table(instrument: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"item": it["id"], "domain": it["domain"], "text": it["text"]} for it in instrument["items"]])


# ----------------------------------------------------------------------------- truth


def _progress(spec: dict[str, Any], waves: list[str]) -> dict[str, float]:
    progress = (spec.get("ratings") or {}).get("progress") or {}
    if not progress:
        rated = [w for w in waves if spec["waves"][w].get("items")]
        steps = max(len(rated) - 1, 1)
        progress = {w: i / steps for i, w in enumerate(rated)}
    return {w: float(v) for w, v in progress.items()}


def expected_score(mu: np.ndarray | float, sd: float) -> np.ndarray:
    """Expected observed score when a latent N(mu, sd) is rounded and clipped to 1..5."""
    mu = np.asarray(mu, dtype=float)
    return 1.0 + norm.sf((THRESHOLDS[:, None] - mu.reshape(1, -1)) / sd).sum(axis=0).reshape(mu.shape)


def _marginal_sd(settings: dict[str, Any], progress: float) -> float:
    return float(
        np.sqrt(
            settings["sd_pcn"] ** 2
            + settings["sd_respondent"] ** 2
            + settings["sd_respondent_domain"] ** 2
            + (settings["sd_slope"] * progress) ** 2
            + settings["sd_residual"] ** 2
        )
    )


def _domain_offsets(settings, instrument: dict[str, Any], domain: str) -> np.ndarray:
    return np.array([settings["item_offset"].get(it["id"], 0.0) for it in instrument["items"] if it["domain"] == domain])


def _domain_mean(settings, offsets: np.ndarray, domain: str, latent_shift: float, progress: float) -> float:
    mu = settings["base"][domain] + latent_shift + offsets
    return float(expected_score(mu, _marginal_sd(settings, progress)).mean())


_SHIFT_CACHE: dict[str, dict[str, float]] = {}


def latent_shifts(spec: dict[str, Any], instrument: dict[str, Any] | None = None) -> dict[str, float]:
    """Solve each domain's latent shift so the observed domain mean changes by ``pct_change``.

    Memoised on the ratings settings, waves and items, so replicate draws solve once.
    """
    instrument = instrument or load_instrument()
    settings = _ratings_settings(spec)
    waves = [w for w in _wave_names(spec) if spec["waves"][w].get("items")]
    progress = _progress(spec, waves)
    key = json.dumps([settings, waves, progress, instrument["items"], list(instrument["domains"])], sort_keys=True, default=str)
    if key in _SHIFT_CACHE:
        return dict(_SHIFT_CACHE[key])
    first, last = waves[0], waves[-1]
    shifts = {}
    for domain in instrument["domains"]:
        offsets = _domain_offsets(settings, instrument, domain)
        target = float(settings.get("pct_change", {}).get(domain, 0.0))
        start = _domain_mean(settings, offsets, domain, 0.0, progress[first])
        goal = start * (1.0 + target)
        if not 1.0 < goal < 5.0:
            raise SimulationConfigError(f"cohort {spec.get('cohort')}: pct_change {target} of {domain} is out of the scale")

        def gap(shift: float) -> float:
            return _domain_mean(settings, offsets, domain, shift * (progress[last] - progress[first]), progress[last]) - goal

        shifts[domain] = float(brentq(gap, -6.0, 6.0, xtol=1e-12)) if progress[last] != progress[first] else 0.0
    _SHIFT_CACHE[key] = shifts
    return dict(shifts)


def true_effects(spec: dict[str, Any], instrument: dict[str, Any] | None = None) -> dict[str, Any]:
    """Population truth of a cohort's ratings, per domain (and per item).

    Returns ``{domain: {"mean": {wave: m}, "pct_change": {wave: (m - m0) / m0},
    "wave_effect": {wave: m - m0}, "latent_shift": s, "items": {item: {wave: m}}}}``
    where m0 is the first wave; a then-test adds ``"then": {"wave", "mean",
    "pct_change_post" (last wave vs then), "response_shift" (first wave - then)}``.
    """
    instrument = instrument or load_instrument()
    settings = _ratings_settings(spec)
    items = _item_table(instrument)
    waves = [w for w in _wave_names(spec) if spec["waves"][w].get("items")]
    progress = _progress(spec, waves)
    shifts = latent_shifts(spec, instrument)
    out: dict[str, Any] = {}
    for domain in instrument["domains"]:
        rows = items[items["domain"] == domain]
        offsets = np.array([settings["item_offset"].get(i, 0.0) for i in rows["item"]])
        item_means: dict[str, dict[str, float]] = {i: {} for i in rows["item"]}
        means = {}
        for wave in waves:
            t = progress[wave] - progress[waves[0]]
            mu = settings["base"][domain] + shifts[domain] * t + offsets
            exp = expected_score(mu, _marginal_sd(settings, progress[wave]))
            for item, value in zip(rows["item"], exp):
                item_means[item][wave] = float(value)
            means[wave] = float(exp.mean())
        m0 = means[waves[0]]
        entry = {
            "mean": means,
            "pct_change": {w: (means[w] - m0) / m0 for w in waves[1:]},
            "wave_effect": {w: means[w] - m0 for w in waves[1:]},
            "latent_shift": shifts[domain],
            "items": item_means,
        }
        then = spec.get("then")
        if then:
            mu = settings["base"][domain] - float(then["shift"].get(domain, 0.0)) + offsets
            then_mean = float(expected_score(mu, _marginal_sd(settings, progress[waves[0]])).mean())
            entry["then"] = {
                "wave": then["wave"],
                "mean": then_mean,
                "pct_change_post": (means[waves[-1]] - then_mean) / then_mean,
                "response_shift": m0 - then_mean,
            }
        out[domain] = entry
    return out


# ----------------------------------------------------------------------------- roster


def simulate_roster(spec: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """Draw a cohort's participants and who answers which wave.

    Returns one row per participant: ``respondent`` (index 1..n), pcn, profession,
    role, ``present_<wave>`` (bool) and ``group_<wave>`` for every wave.
    """
    waves = _wave_names(spec)
    pcns = list(spec.get("pcns") or [])
    if not pcns:
        raise SimulationConfigError(f"cohort {spec.get('cohort')}: 'pcns' is empty")
    n0 = int(spec.get("n_respondents", 0))
    joins = {w: int(k) for w, k in (spec.get("join_at") or {}).items()}
    n = n0 + sum(joins.values())
    first_wave = np.array([waves[0]] * n0 + [w for w, k in joins.items() for _ in range(k)], dtype=object)

    # PCN: every PCN gets one participant before any gets a second (while numbers allow)
    pcn = np.empty(n, dtype=object)
    order = rng.permutation(n)
    for rank, i in enumerate(order):
        pcn[i] = pcns[rank] if rank < len(pcns) else pcns[rng.integers(len(pcns))]

    professions = spec.get("professions") or {"GP": {"weight": 1.0, "roles": ["GP"]}}
    weights = spec.get("professions_override") or {k: v["weight"] for k, v in professions.items()}
    profession = np.array(_weighted_choice(rng, weights, n), dtype=object)
    role = np.array([professions.get(p, {}).get("roles", [p])[rng.integers(len(professions.get(p, {}).get("roles", [p])))] for p in profession], dtype=object)
    fixed = spec.get("roles_fixed") or {}
    if fixed:
        labels = [r for r, k in fixed.items() for _ in range(int(k))]
        if len(labels) != n:
            raise SimulationConfigError(f"cohort {spec.get('cohort')}: roles_fixed counts {len(labels)} people, not {n}")
        role = np.array(labels, dtype=object)
        per_pcn = int(next(iter(fixed.values())))
        if per_pcn == len(pcns):  # the first role is one per PCN (e.g. one lead per network)
            pcn[:per_pcn] = pcns
            rest = rng.choice(len(pcns), size=n - per_pcn, replace=(n - per_pcn) > len(pcns))
            pcn[per_pcn:] = [pcns[i] for i in rest]

    groups = list(spec.get("groups") or [])
    group = np.full(n, "", dtype=object)
    if groups:
        if spec.get("group_by_pcn"):
            group = np.array([groups[pcns.index(p) % len(groups)] for p in pcn], dtype=object)
        else:
            group = np.array([groups[i % len(groups)] for i in rng.permutation(n)], dtype=object)

    frame = pd.DataFrame({"respondent": np.arange(1, n + 1), "pcn": pcn, "profession": profession, "role": role})
    active = np.zeros(n, dtype=bool)
    respond = spec.get("respond") or {}
    for k, wave in enumerate(waves):
        active |= first_wave == wave
        if k > 0:
            drop = rng.random(n) < float((spec.get("attrition") or {}).get(wave, 0.0))
            active &= ~(drop & (first_wave != wave))
        present = active.copy()
        if k > 0:
            skip = rng.random(n) < float(spec.get("skip", 0.0))
            present &= ~(skip & (first_wave != wave))
        if wave in respond:
            idx = np.flatnonzero(active)
            want = int(respond[wave])
            if want > len(idx):
                raise SimulationConfigError(f"cohort {spec.get('cohort')}: {want} responses wanted at {wave}, {len(idx)} active")
            present = np.zeros(n, dtype=bool)
            present[rng.choice(idx, size=want, replace=False)] = True
        if k > 0 and groups and not spec.get("group_by_pcn"):
            move = rng.random(n) < float(spec.get("group_switch", 0.0))
            for i in np.flatnonzero(move):
                others = [g for g in groups if g != group[i]]
                group[i] = others[rng.integers(len(others))]
        frame[f"present_{wave}"] = present
        frame[f"group_{wave}"] = group.copy()
    return frame


# ----------------------------------------------------------------------------- ratings


def _simulate_wide(spec, rng, instrument, roster) -> dict[str, pd.DataFrame]:
    """Scores per wave: {wave: frame indexed by respondent, one column per item (NaN = blank)}."""
    settings = _ratings_settings(spec)
    items = _item_table(instrument)
    waves = _wave_names(spec)
    rated = [w for w in waves if spec["waves"][w].get("items")]
    if not rated:
        return {}
    progress = _progress(spec, rated)
    shifts = latent_shifts(spec, instrument)
    domains = list(instrument["domains"])
    n = len(roster)
    pcns = sorted(set(roster["pcn"]))
    u_pcn_by = dict(zip(pcns, rng.normal(0, settings["sd_pcn"], len(pcns))))
    u_pcn = roster["pcn"].map(u_pcn_by).to_numpy(float)
    u_resp = rng.normal(0, settings["sd_respondent"], n)
    u_dom = {d: rng.normal(0, settings["sd_respondent_domain"], n) for d in domains}
    slope = {d: rng.normal(0, settings["sd_slope"], n) for d in domains}
    offsets = np.array([settings["item_offset"].get(i, 0.0) for i in items["item"]])
    item_domain = items["domain"].tolist()

    def draw(base_shift: dict[str, float], t: float, tw: float) -> pd.DataFrame:
        cols = {}
        for j, item in enumerate(items["item"]):
            d = item_domain[j]
            latent = (
                settings["base"][d] + base_shift[d] * t + offsets[j] + u_pcn + u_resp + u_dom[d]
                + slope[d] * tw + rng.normal(0, settings["sd_residual"], n)
            )
            score = np.clip(np.rint(latent), 1, 5)
            score[rng.random(n) < float(settings["item_missing"])] = np.nan
            cols[item] = score
        return pd.DataFrame(cols, index=roster["respondent"].to_numpy())

    out = {}
    for wave in rated:
        t = progress[wave] - progress[rated[0]]
        frame = draw(shifts, t, progress[wave])
        out[wave] = frame[roster[f"present_{wave}"].to_numpy()]
    then = spec.get("then")
    if then:
        minus = {d: -float(then["shift"].get(d, 0.0)) for d in domains}
        frame = draw(minus, 1.0, progress[rated[0]])
        out[then["wave"]] = frame[roster[f"present_{then['with']}"].to_numpy()]
    return out


def _long(spec, roster, wide: dict[str, pd.DataFrame], instrument) -> pd.DataFrame:
    domain_of = {it["id"]: it["domain"] for it in instrument["items"]}
    pcn_of = dict(zip(roster["respondent"], roster["pcn"]))
    parts = []
    for wave, frame in wide.items():
        stacked = frame.rename_axis("respondent").reset_index().melt(id_vars="respondent", var_name="item", value_name="score")
        stacked["wave"] = wave
        parts.append(stacked.dropna(subset=["score"]))
    if not parts:
        return pd.DataFrame(columns=RATINGS_COLUMNS)
    long = pd.concat(parts, ignore_index=True)
    long["cohort"] = spec.get("cohort", "")
    long["pcn"] = long["respondent"].map(pcn_of)
    long["domain"] = long["item"].map(domain_of)
    long["score"] = long["score"].astype(float)
    return long[RATINGS_COLUMNS].reset_index(drop=True)


def simulate_ratings(
    spec: dict[str, Any],
    rng: np.random.Generator,
    instrument: dict[str, Any] | None = None,
    roster: pd.DataFrame | None = None,
    with_truth: bool = True,
) -> pd.DataFrame:
    """Draw one cohort's Likert ratings, in memory.

    Takes a cohort spec (``cohort_spec`` or a hand-written dict) and a numpy Generator;
    returns the long table respondent, cohort, pcn, wave, item, domain, score (float,
    blanks dropped), one row per answered item. ``df.attrs["truth"]`` holds
    ``true_effects(spec)`` (skip with ``with_truth=False`` in replicate loops). Draws a
    roster first unless one is given.
    """
    instrument = instrument or load_instrument()
    if roster is None:
        roster = simulate_roster(spec, rng)
    long = _long(spec, roster, _simulate_wide(spec, rng, instrument, roster), instrument)
    if with_truth:
        long.attrs["truth"] = true_effects(spec, instrument)
    return long


def sample_effects(long: pd.DataFrame, waves: list[str]) -> dict[str, Any]:
    """Realised domain means per wave (mean over respondents of their domain mean) and pct changes."""
    out: dict[str, Any] = {}
    per = long.groupby(["domain", "wave", "respondent"])["score"].mean().reset_index()
    for domain, frame in per.groupby("domain"):
        means = {w: float(frame.loc[frame["wave"] == w, "score"].mean()) for w in waves if (frame["wave"] == w).any()}
        n = {w: int((frame["wave"] == w).sum()) for w in means}
        m0 = means.get(waves[0])
        entry = {"n": n, "mean": means}
        if m0:
            entry["pct_change"] = {w: (m - m0) / m0 for w, m in means.items() if w != waves[0]}
        out[str(domain)] = entry
    return out


# ----------------------------------------------------------------------------- exports


def _faker(rng: np.random.Generator):
    from faker import Faker

    faker = Faker("en_GB")
    faker.seed_instance(int(rng.integers(2**31 - 1)))
    return faker


def _unique_names(faker, k: int, taken: set[str]) -> list[str]:
    names = []
    while len(names) < k:
        name = f"{faker.first_name()} {faker.last_name()}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _respondent_ids(spec: dict[str, Any], numbers: np.ndarray, names: list[str]) -> list[str]:
    style = spec.get("respondent_id") or {"style": "number", "start": 1}
    if style["style"] == "pattern":
        return [style["pattern"].format(n=int(n)) for n in numbers]
    if style["style"] == "number":
        return [str(int(style.get("start", 1)) + int(n) - 1) for n in numbers]
    if style["style"] == "email":
        seen: dict[str, int] = {}
        out = []
        for name in names:
            first, last = name.split(" ", 1)
            local = f"{_ascii(first)[:1]}.{_ascii(last)}"
            seen[local] = seen.get(local, 0) + 1
            out.append(f"{local}{seen[local] if seen[local] > 1 else ''}@{style.get('domain', 'nhs.net')}")
        return out
    raise SimulationConfigError(f"cohort {spec.get('cohort')}: unknown respondent_id style {style['style']!r}")


def _dates(rng: np.random.Generator, window: list, k: int) -> list[dt.datetime]:
    start = dt.datetime.combine(pd.Timestamp(window[0]).date(), dt.time(8, 0))
    end = dt.datetime.combine(pd.Timestamp(window[1]).date(), dt.time(8, 0))
    days = (end - start).days + 1
    out = []
    for _ in range(k):
        day = int(rng.integers(days))
        minute = int(rng.integers(0, 12 * 60))
        out.append(start + dt.timedelta(days=day, minutes=minute))
    return out


def _headers(spec: dict[str, Any], instrument: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Export header of every (kind, id) the cohort asks, numbered the same in every wave."""
    waves = spec["waves"]
    wanted: list[tuple[str, str, str]] = []
    if any(w.get("items") for w in waves.values()):
        wanted += [("item", it["id"], it["text"]) for it in instrument["items"]]
    asked_fb = {f for w in waves.values() for f in (w.get("feedback") or {})}
    wanted += [("feedback", f["id"], f["text"]) for f in instrument["feedback"] if f["id"] in asked_fb]
    asked_q = [q for w in waves.values() for q in (w.get("text") or [])]
    wanted += [("text", q["id"], q["text"]) for q in instrument["questions"] if q["id"] in asked_q]
    prefix = (spec.get("header") or {}).get("prefix", "")
    return {(kind, ident): prefix.format(n=k + 1) + text for k, (kind, ident, text) in enumerate(wanted)}


def _likert_cell(rng, value: float, spec, labels: dict[int, str]) -> str | None:
    if np.isnan(value):
        return None
    if spec.get("likert", "numbers") == "numbers":
        return str(int(value))
    label = labels[int(value)]
    if rng.random() < float(spec.get("label_variants", 0.0)):
        label = label.lower() if rng.random() < 0.5 else label.title()
    return label


def _yes_no(rng, yes: bool, spec) -> str:
    spellings = spec.get("yes_no_spellings") or [["Yes", "No"]]
    weights = np.array(spec.get("yes_no_weights") or [1.0] * len(spellings), dtype=float)
    pair = spellings[int(rng.choice(len(spellings), p=weights / weights.sum()))]
    return pair[0] if yes else pair[1]


def _feedback_values(rng, rule: dict[str, Any], k: int) -> np.ndarray:
    if "count" in rule:
        count = k if rule["count"] == "all" else int(rule["count"])
        if count > k:
            raise SimulationConfigError(f"feedback count {count} exceeds the {k} responses")
        yes = np.zeros(k, dtype=bool)
        yes[rng.choice(k, size=count, replace=False)] = True
        return yes
    return rng.random(k) < float(rule["p"])


def _text_settings(spec, question: str, extra: dict | None = None) -> dict[str, Any]:
    settings = dict(spec.get("text_defaults") or TEXT_DEFAULTS)
    settings.update({k: v for k, v in (extra if extra is not None else (spec.get("text") or {}).get(question, {})).items() if k != "themes"})
    return settings


class _Recorder:
    """Collects the truth about free text: themes per response and planted personal data."""

    def __init__(self, cohort: str):
        self.cohort = cohort
        self.themes: list[dict[str, Any]] = []
        self.pii: list[dict[str, Any]] = []

    def add(self, response_id, wave, file, row, question, column, themes, pii):
        self.themes.append(
            {"response_id": response_id, "cohort": self.cohort, "wave": wave, "file": file, "row": row,
             "question": question, "themes": ";".join(themes)}
        )
        for kind, value in pii:
            self.pii.append(
                {"cohort": self.cohort, "file": file, "row": row, "column": column,
                 "text_response_id": response_id, "kind": kind, "string": value}
            )


def _write_csv(path: Path, header: list[str], rows: list[list[str | None]], encoding: str) -> None:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buffer.getvalue().encode(encoding))


def _write_xlsx(path: Path, header: list[str], rows: list[list[str | None]], stamp: dt.datetime) -> None:
    """Write an XLSX whose bytes depend only on its content (fixed metadata and zip times)."""
    path.write_bytes(stable_xlsx([header, *rows], stamp, sheet="Form1", creator="pcnstudy simulate"))


def _interviews(spec, rng, phrases, faker, names, folder: Path, recorder: _Recorder) -> list[str]:
    """Write the cohort's interview transcripts; return their file names."""
    conf = spec["interviews"]
    settings = _text_settings(spec, "interview", {k: v for k, v in conf.items() if k in ("n_themes", "pii", "typo")})
    settings["typo"] = float(conf.get("typo", 0.02))
    prompts = phrases["interviewer"]
    wave = conf["wave"]
    written = []
    (folder / conf.get("folder", "interviews")).mkdir(parents=True, exist_ok=True)
    for k in range(int(conf["n"])):
        stem = f"interview_{k + 1:02d}"
        rel = f"{conf.get('folder', 'interviews')}/{stem}.txt"
        turns = int(rng.integers(conf["turns"][0], conf["turns"][1] + 1))
        order = [prompts["prompts"][int(i)] for i in rng.permutation(len(prompts["prompts"]))]
        lines = []
        last_was_prompt = False
        for turn in range(1, turns + 1):
            if turn == 1:
                question = _pick(rng, prompts["opening"])
            elif turn == turns:
                question = _pick(rng, prompts["closing"])
            elif (last_was_prompt and rng.random() < 0.3) or not order:
                question = _pick(rng, prompts["followups"])
                last_was_prompt = False
            else:
                question = order.pop(0)
                last_was_prompt = True
            if turn == 1:
                answer = _pick(rng, phrases["interviewee"]["opening"]).format(
                    k=int(rng.integers(3, 9)), pop=f"{int(rng.integers(30, 70)) * 1000:,}", s=int(rng.integers(4, 8))
                )
                themes, pii = [], []
            elif turn == turns and rng.random() < 0.6:
                answer, themes, pii = _pick(rng, phrases["interviewee"]["closing"]), [], []
            else:
                answer, themes, pii = write_answer(
                    rng, weights=conf["themes"], register="view", settings=settings,
                    phrases=phrases, faker=faker, names=names,
                )
            lines += [f"Interviewer: {question}", "", f"Participant: {answer}", ""]
            recorder.add(f"{recorder.cohort}-{wave}-{stem}-{turn}", wave, rel, turn, "interview", "Participant", themes, pii)
        (folder / rel).write_text("\n".join(lines), encoding="utf-8", newline="\n")
        written.append(rel)
    return written


def simulate_cohort(
    spec: dict[str, Any],
    rng: np.random.Generator,
    out: Path,
    phrases: dict[str, Any],
    instrument: dict[str, Any],
    stamp: dt.datetime,
) -> dict[str, Any]:
    """Write one cohort's folder (cohort.yml and exports); return its truth and text records."""
    cohort = spec["cohort"]
    folder = Path(out) / cohort
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    waves = _wave_names(spec)
    roster = simulate_roster(spec, rng)
    wide = _simulate_wide(spec, rng, instrument, roster)
    faker = _faker(rng)
    taken: set[str] = set()
    roster["name"] = _unique_names(faker, len(roster), taken)
    staff = _unique_names(faker, int(spec.get("n_staff", 2)), taken)
    names = sorted(roster["name"].tolist() + staff)
    roster["id"] = _respondent_ids(spec, roster["respondent"].to_numpy(), roster["name"].tolist())
    email_local = [f"{_ascii(n.split(' ', 1)[0])}.{_ascii(n.split(' ', 1)[1])}" for n in roster["name"]]
    roster["email"] = [f"{e}@nhs.net" for e in email_local]
    headers = _headers(spec, instrument)
    columns = spec.get("columns") or {}
    labels = {int(k): v for k, v in instrument["scale"]["labels"].items()}
    recorder = _Recorder(cohort)
    fmt = spec.get("format", "csv")
    encoding = spec.get("encoding", "utf-8")
    date_format = spec.get("date_format", "%Y-%m-%d")
    files: list[dict[str, Any]] = []
    feedback_truth: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    id_cols = [r for r in ("respondent_id", "name", "email", "pcn", "profession", "role", "group", "date") if r in columns]
    then = spec.get("then")
    then_rows: list[list[str | None]] = []

    def id_cells(person, wave: str, when: dt.datetime) -> list[str | None]:
        values = {
            "respondent_id": person["id"], "name": person["name"], "email": person["email"], "pcn": person["pcn"],
            "profession": person["profession"], "role": person["role"], "group": person[f"group_{wave}"],
            "date": when.strftime(date_format),
        }
        return [values[r] for r in id_cols]

    for wave in waves:
        wspec = spec["waves"][wave]
        people = roster[roster[f"present_{wave}"]].reset_index(drop=True)
        when = _dates(rng, wspec["dates"], len(people))
        numbers = people["respondent"].to_numpy()
        order = sorted(range(len(people)), key=lambda i: (when[i], numbers[i]))
        people = people.loc[order].reset_index(drop=True)
        records = people.to_dict("records")
        when = [when[i] for i in order]
        sizes[wave] = len(people)
        header = [columns[r] for r in id_cols]
        body: list[list[str | None]] = [id_cells(records[i], wave, when[i]) for i in range(len(people))]
        item_ids = [it["id"] for it in instrument["items"]]
        if wspec.get("items"):
            scores = wide[wave].loc[people["respondent"].to_numpy(), item_ids].to_numpy(dtype=float)
            header += [headers[("item", i)] for i in item_ids]
            for i in range(len(people)):
                body[i] += [_likert_cell(rng, scores[i, j], spec, labels) for j in range(len(item_ids))]
        fb = wspec.get("feedback") or {}
        fb_ids = [f["id"] for f in instrument["feedback"] if f["id"] in fb]
        for fid in fb_ids:
            yes = _feedback_values(rng, fb[fid], len(people))
            header.append(headers[("feedback", fid)])
            for i in range(len(people)):
                body[i].append(_yes_no(rng, bool(yes[i]), spec))
            feedback_truth.setdefault(wave, {})[fid] = {**fb[fid], "n": len(people), "k_yes": int(yes.sum())}
        filename = f"{wave}.{fmt}"
        questions = [q["id"] for q in instrument["questions"] if q["id"] in (wspec.get("text") or [])]
        for question in questions:
            qspec = (spec.get("text") or {}).get(question) or {}
            settings = _text_settings(spec, question)
            head = headers[("text", question)]
            header.append(head)
            for i in range(len(people)):
                if rng.random() < float(settings["missing"]):
                    markers = phrases.get("missing_markers") or []
                    marked = markers and rng.random() < float(settings.get("missing_marker", 0.0))
                    body[i].append(_pick(rng, markers) if marked else None)
                    continue
                text, themes, pii = write_answer(
                    rng, weights=qspec.get("themes") or {}, register=REGISTER[question], settings=settings,
                    phrases=phrases, faker=faker, names=names,
                )
                body[i].append(text)
                row = i + 2
                recorder.add(f"{cohort}-{wave}-{row}-{question}", wave, filename, row, question, head, themes, pii)
        if fmt == "xlsx":
            _write_xlsx(folder / filename, header, body, stamp)
        else:
            _write_csv(folder / filename, header, body, encoding)
        files.append({"path": filename, "wave": wave, "format": fmt, "layout": "plain"})
        if then and then["with"] == wave:
            scores = wide[then["wave"]].loc[people["respondent"].to_numpy(), item_ids].to_numpy(dtype=float)
            then_header = [columns[r] for r in id_cols] + [headers[("item", i)] for i in item_ids]
            for i in range(len(people)):
                then_rows.append(
                    id_cells(records[i], wave, when[i])
                    + [_likert_cell(rng, scores[i, j], spec, labels) for j in range(len(item_ids))]
                )
            then_path = then.get("path", f"{then['wave']}.{fmt}")
            if fmt == "xlsx":
                _write_xlsx(folder / then_path, then_header, then_rows, stamp)
            else:
                _write_csv(folder / then_path, then_header, then_rows, encoding)
            files.append({"path": then_path, "wave": then["wave"], "format": fmt, "layout": "plain"})
            sizes[then["wave"]] = len(then_rows)
    if spec.get("interviews"):
        written = _interviews(spec, rng, phrases, faker, names, folder, recorder)
        files.append({"path": f"{spec['interviews'].get('folder', 'interviews')}/", "wave": spec["interviews"]["wave"], "format": "text"})
        sizes["interviews"] = len(written)

    mapping: dict[str, Any] = {r: columns[r] for r in id_cols}
    item_map = {headers[k]: k[1] for k in headers if k[0] == "item"}
    fb_map = {headers[k]: k[1] for k in headers if k[0] == "feedback"}
    text_map = {headers[k]: k[1] for k in headers if k[0] == "text"}
    if item_map:
        mapping["items"] = item_map
    if fb_map:
        mapping["feedback"] = fb_map
    if text_map:
        mapping["text"] = text_map
    meta = {
        "cohort": cohort,
        "programme": spec.get("programme", ""),
        "region": spec.get("region", ""),
        "n_pcns": len(spec["pcns"]),
        "start": spec.get("start"),
        "end": spec.get("end"),
        "waves": waves,
        "retrospective_waves": [then["wave"]] if then else [],
        "instrument": int(spec.get("instrument", instrument.get("version", 1))),
        "demo": bool(spec.get("demo", True)),  # simulated: the public demo pseudonym key is fine
        "files": files,
        "columns": mapping,
        "names": names,
    }
    text = "# Simulated twin: written by `pcnstudy simulate` (config/simulation.yml). Do not edit.\n"
    text += yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    (folder / "cohort.yml").write_text(text, encoding="utf-8", newline="\n")

    truth: dict[str, Any] = {"sizes": sizes}
    if wide:
        truth["domains"] = true_effects(spec, instrument)
        long = _long(spec, roster, wide, instrument)
        order_waves = [w for w in waves if spec["waves"][w].get("items")] + ([then["wave"]] if then else [])
        truth["sample"] = sample_effects(long, order_waves)
    if feedback_truth:
        truth["feedback"] = feedback_truth
    return {"truth": truth, "themes": recorder.themes, "pii": recorder.pii}


# ----------------------------------------------------------------------------- study


def _progress_bar(items, **kwargs):
    from tqdm import tqdm

    return tqdm(items, disable=not sys.stderr.isatty(), **kwargs)


def simulate_study(config: dict[str, Any], out: Path, truth: Path, seed: int, instrument: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write every cohort of ``config`` under ``out`` and the generating truth under ``truth``."""
    instrument = instrument or load_instrument()
    phrases = config["_phrases"]
    stamp = pd.Timestamp(config.get("fixed_timestamp", "2024-01-01T00:00:00")).to_pydatetime()
    out, truth = Path(out), Path(truth)
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    effects: dict[str, Any] = {}
    themes: list[dict[str, Any]] = []
    pii: list[dict[str, Any]] = []
    for cohort in _progress_bar(sorted(config["cohorts"]), desc="simulate", unit="cohort"):
        spec = cohort_spec(cohort, config)
        result = simulate_cohort(spec, cohort_rng(seed, cohort), out, phrases, instrument, stamp)
        effects[cohort] = result["truth"]
        themes += result["themes"]
        pii += result["pii"]
    effects = {"seed": int(seed), "cohorts": effects}
    (truth / "effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    theme_frame = pd.DataFrame(themes, columns=TEXT_THEMES_COLUMNS).sort_values(["cohort", "file", "row", "question"], kind="stable")
    theme_frame.to_csv(truth / "text_themes.csv", index=False, lineterminator="\n")
    pii_frame = pd.DataFrame(pii, columns=PII_COLUMNS).sort_values(["cohort", "file", "row", "column", "string"], kind="stable")
    pii_frame.to_csv(truth / "pii.csv", index=False, lineterminator="\n")
    return effects


def simulate_command(config: Path | None = None, out: Path | None = None, truth: Path | None = None, seed: int | None = None) -> int:
    """``pcnstudy simulate``: 0 when written, 1 when the config is bad, 2 when no seed is known."""
    config_path = Path(config) if config else paths.CONFIG / "simulation.yml"
    if seed is None:
        seed = (load_params().get("simulate") or {}).get("seed")
        if seed is None:
            print("simulate: no --seed given and params.yaml has no simulate.seed", file=sys.stderr)
            return 2
    try:
        loaded = load_config(config_path)
        effects = simulate_study(loaded, Path(out or paths.RAW), Path(truth or paths.TRUTH), int(seed))
    except FileNotFoundError as exc:
        print(f"simulate: {exc.filename}: no such file", file=sys.stderr)
        return 1
    except (SimulationConfigError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        print(f"simulate: {config_path}: {what}", file=sys.stderr)
        return 1
    for cohort, entry in effects["cohorts"].items():
        sizes = ", ".join(f"{w} {n}" for w, n in entry["sizes"].items())
        print(f"{cohort}: {sizes}")
    return 0
