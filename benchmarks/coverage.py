"""Coverage of the scores stage's 95% intervals on the simulated twin's generator.

Simulates ``--reps`` studies (default 200) of every cohort in config/simulation.yml
that has ratings at two or more waves, with the in-memory generator
(``pcnstudy.simulate.ratings.simulate_ratings``), and counts how often

* the paired t interval of the mean change (first -> last wave, complete pairs),
* the delta-method interval of the percent change of the mean, and
* the mixed model's interval of the wave effect (all observations; t quantile on
  n_respondents - 1 df, and for comparison the normal quantile)

contain the generator's true value (``true_effects``: population mean difference and
percent change of the domain score). Seeds: params.yaml ``scores.seed`` (replicate i
uses ``default_rng([seed, i])``). Prints a table and writes reports/coverage.json.

    .venv/bin/python benchmarks/coverage.py [--reps 200] [--out reports/coverage.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from pcnstudy.core import paths
from pcnstudy.scores.change import change_table
from pcnstudy.scores.ratings_table import add_domain_scores
from pcnstudy.scores.mixed import fit_wave_model
from pcnstudy.core.params import load_params
from pcnstudy.simulate.config import cohort_spec, load_config, load_instrument
from pcnstudy.simulate.ratings import simulate_ratings
from pcnstudy.simulate.truth import true_effects


def rated_waves(spec: dict) -> list[str]:
    return [w for w, s in spec["waves"].items() if (s or {}).get("items")]


def one_replicate(spec: dict, rng: np.random.Generator, instrument: dict, truth: dict, min_pcn_groups: int) -> list[dict]:
    long = simulate_ratings(spec, rng, instrument=instrument, with_truth=False)
    long["respondent"] = long["respondent"].astype(str)
    data = add_domain_scores(long)
    data = data[data["level"] == "domain"]
    waves = rated_waves(spec)
    last = waves[-1]
    change = change_table(data, waves, pooled=False)
    change = change[(change["wave_to"] == last)]
    rows = []
    for rec in change.itertuples():
        true_diff = truth[rec.item]["wave_effect"][last]
        true_pct = truth[rec.item]["pct_change"][last]
        fit = fit_wave_model(data[data["item"] == rec.item], waves, min_pcn_groups=min_pcn_groups)
        term = fit.terms.set_index("term")
        key = f"wave[T.{last}]"
        lo, hi = (term.loc[key, "ci_low"], term.loc[key, "ci_high"]) if key in term.index else (np.nan, np.nan)
        rows.append({"domain": rec.item, "n_pairs": rec.n_pairs,
                     "diff_covered": rec.diff_ci_low <= true_diff <= rec.diff_ci_high,
                     "pct_covered": rec.pct_ci_low <= true_pct <= rec.pct_ci_high,
                     "mixed_covered": lo <= true_diff <= hi if np.isfinite(lo) else np.nan,
                     "mixed_normal_covered": (abs(term.loc[key, "estimate"] - true_diff)
                                              <= stats.norm.ppf(0.975) * term.loc[key, "se"]) if key in term.index else np.nan,
                     "mixed_converged": fit.converged,
                     "diff_error": rec.mean_diff - true_diff,
                     "mixed_error": term.loc[key, "estimate"] - true_diff if key in term.index else np.nan})
    return rows


def run(reps: int, seed: int, min_pcn_groups: int) -> dict:
    config = load_config()
    instrument = load_instrument()
    out = {"reps": reps, "seed": seed, "cohorts": {}}
    specs = [cohort_spec(name, config) for name in sorted(config["cohorts"])]
    specs = [s for s in specs if len(rated_waves(s)) >= 2]
    total = reps * len(specs)
    bar = tqdm(total=total, desc="coverage", disable=not sys.stderr.isatty())
    all_rows = []
    for spec in specs:
        truth = true_effects(spec, instrument)
        rows = []
        for i in range(reps):
            rng = np.random.default_rng([seed, i])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows += one_replicate(spec, rng, instrument, truth, min_pcn_groups)
            bar.update(1)
        frame = pd.DataFrame(rows).assign(cohort=spec["cohort"])
        all_rows.append(frame)
        out["cohorts"][spec["cohort"]] = summarise(frame)
    bar.close()
    out["overall"] = summarise(pd.concat(all_rows, ignore_index=True))
    return out


def _prop(x: pd.Series) -> dict:
    x = x.dropna().astype(float)
    k, n = int(x.sum()), int(x.size)
    # exact (Clopper-Pearson) interval of the coverage itself: Monte Carlo error
    lo = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return {"coverage": k / n if n else float("nan"), "n": n, "mc_ci_low": float(lo), "mc_ci_high": float(hi)}


def summarise(frame: pd.DataFrame) -> dict:
    return {"mean_change": _prop(frame["diff_covered"]), "pct_change": _prop(frame["pct_covered"]),
            "mixed_wave_effect": _prop(frame["mixed_covered"]),
            "mixed_wave_effect_normal_quantile": _prop(frame["mixed_normal_covered"]),
            "mixed_converged": float(frame["mixed_converged"].mean()),
            "bias_mean_change": float(frame["diff_error"].mean()),
            "bias_mixed": float(frame["mixed_error"].mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--out", type=Path, default=paths.REPORTS / "coverage.json")
    args = parser.parse_args(argv)
    params = load_params().get("scores", {})
    result = run(args.reps, int(params.get("seed", 4242)), int(params.get("min_pcn_groups", 10)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{'cohort':<14}{'mean change':>14}{'pct change':>14}{'mixed (t)':>14}{'mixed (z)':>14}{'converged':>11}")
    for name, summary in {**result["cohorts"], "overall": result["overall"]}.items():
        print(f"{name:<14}{summary['mean_change']['coverage']:>14.3f}{summary['pct_change']['coverage']:>14.3f}"
              f"{summary['mixed_wave_effect']['coverage']:>14.3f}"
              f"{summary['mixed_wave_effect_normal_quantile']['coverage']:>14.3f}{summary['mixed_converged']:>11.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
