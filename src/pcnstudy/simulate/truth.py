"""The generating truth of a cohort's ratings, and what a drawn sample realised.

Takes a cohort spec (``config.cohort_spec``) and the instrument; gives the latent
shift per domain that makes the observed domain mean change by the spec's
``pct_change`` (``latent_shifts``), the population truth per domain and item
(``true_effects``: means per wave, percent changes, wave effects, then-test figures),
and the realised means and percent changes of a drawn long table (``sample_effects``).
A latent score is rounded and clipped to 1..5 (``THRESHOLDS``); ``expected_score``
gives the expected observed score of a latent normal.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import norm

from pcnstudy.simulate.config import (
    SimulationConfigError,
    item_table,
    load_instrument,
    ratings_settings,
    wave_names,
)

THRESHOLDS = np.array([1.5, 2.5, 3.5, 4.5])  # rounding a latent score to 1..5


def wave_progress(spec: dict[str, Any], waves: list[str]) -> dict[str, float]:
    """How far along the programme each rated wave is, 0 to 1 (the spec's ``ratings.progress``, else evenly spaced)."""
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
    settings = ratings_settings(spec)
    waves = [w for w in wave_names(spec) if spec["waves"][w].get("items")]
    progress = wave_progress(spec, waves)
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
    "pct_change_post" (last wave vs then), "response_shift" (first wave - then)}``, and a
    cohort with a single rated wave and a then-test (no prospective pre-test) adds
    ``"retrospective_change": {"wave_from", "wave_to", "mean_diff" (now - then), "pct_change"}``.
    """
    instrument = instrument or load_instrument()
    settings = ratings_settings(spec)
    items = item_table(instrument)
    waves = [w for w in wave_names(spec) if spec["waves"][w].get("items")]
    progress = wave_progress(spec, waves)
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
            if len(waves) == 1:  # one wave and its then-test: the change is retrospective only
                entry["retrospective_change"] = {
                    "wave_from": then["wave"], "wave_to": waves[0],
                    "mean_diff": means[waves[0]] - then_mean, "pct_change": (means[waves[0]] - then_mean) / then_mean,
                }
        out[domain] = entry
    return out


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
