"""Who takes part and what they score: a cohort's roster and Likert ratings, in memory.

Takes a cohort spec (``config.cohort_spec`` or a hand-written dict), the instrument
and a numpy Generator; gives the roster (``simulate_roster``: one row per participant
with PCN, profession, role, and per wave whether they answer and their group), the
scores per wave (``simulate_wide``: respondent x item, NaN for a blank), and the long
table of ratings (``simulate_ratings``: respondent, cohort, pcn, wave, item, domain,
score). Every draw comes from the Generator passed in, in a fixed order.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pcnstudy.simulate.config import (
    SimulationConfigError,
    item_table,
    load_instrument,
    ratings_settings,
    wave_names,
)
from pcnstudy.simulate.text import weighted_choice
from pcnstudy.simulate.truth import latent_shifts, true_effects, wave_progress

RATINGS_COLUMNS = ["respondent", "cohort", "pcn", "wave", "item", "domain", "score"]


def simulate_roster(spec: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """Draw a cohort's participants and who answers which wave.

    Returns one row per participant: ``respondent`` (index 1..n), pcn, profession,
    role, ``present_<wave>`` (bool) and ``group_<wave>`` for every wave.
    """
    waves = wave_names(spec)
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
    profession = np.array(weighted_choice(rng, weights, n), dtype=object)
    # a cohort may give its own roles within a profession (e.g. federation leaders' posts)
    own_roles = spec.get("roles_by_profession") or {}
    role_lists = {p: list(own_roles.get(p) or professions.get(p, {}).get("roles", [p])) for p in set(profession)}
    role = np.array([role_lists[p][rng.integers(len(role_lists[p]))] for p in profession], dtype=object)
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


def simulate_wide(spec, rng, instrument, roster) -> dict[str, pd.DataFrame]:
    """Scores per wave: {wave: frame indexed by respondent, one column per item (NaN = blank)}."""
    settings = ratings_settings(spec)
    items = item_table(instrument)
    waves = wave_names(spec)
    rated = [w for w in waves if spec["waves"][w].get("items")]
    if not rated:
        return {}
    progress = wave_progress(spec, rated)
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


def ratings_long(spec, roster, wide: dict[str, pd.DataFrame], instrument) -> pd.DataFrame:
    """Stack the per-wave scores into the long table ``RATINGS_COLUMNS``, blanks dropped."""
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
    long = ratings_long(spec, roster, simulate_wide(spec, rng, instrument, roster), instrument)
    if with_truth:
        long.attrs["truth"] = true_effects(spec, instrument)
    return long
