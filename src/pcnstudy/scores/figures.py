"""Figures of the scores stage, drawn with seaborn's theme and saved by plots.save_figure.

* ``slope_figure(data, waves, max_lines=200, seed=0)`` -> fig-slopes: each respondent's
  domain score by wave (thin lines, one LineCollection per panel; above ``max_lines``
  respondents a seeded random sample of them, and the panel says how many are shown)
  and the cohort mean with its 95% t interval (bold, always from every respondent),
  cohorts x domains;
* ``forest_figure(change, meta)`` -> fig-forest: mean change (first to last wave) per
  cohort and domain with 95% CIs, and the pooled random-effects (REML) estimate (diamond:
  Wald CI; line through it: the Hartung-Knapp CI, where the meta table has it);
* ``likert_figure(data, waves, labels)`` -> fig-likert: diverging stacked bars of the
  item responses by wave (all cohorts), the neutral category split across zero;
* ``feedback_figure(fb, mask)`` -> fig-feedback: yes-proportions with Wilson 95% CIs;
  values withheld by disclosure control are not drawn and are labelled as withheld.

``make_all(..., seed=0)`` draws and saves the four and returns their paths (``seed``:
params.yaml ``scores.seed``, for the sample of lines in fig-slopes).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats  # noqa: E402

from pcnstudy.core.plots import save_figure  # noqa: E402
from pcnstudy.core.progress import progress

#: Most respondents' lines drawn per panel of fig-slopes; above this, a seeded sample.
MAX_SLOPE_LINES = 200
LABELS = {"slopes": "fig-slopes", "forest": "fig-forest", "likert": "fig-likert", "feedback": "fig-feedback"}


def _style():
    return sns.axes_style("whitegrid")


def respondent_lines(wide: pd.DataFrame, x: np.ndarray, max_lines: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Polylines (k x 2 arrays of wave position, score) of the rows of ``wide``; NaNs skipped.

    Rows with fewer than two scores draw nothing. Above ``max_lines`` rows, a sample of
    ``max_lines`` rows drawn with ``rng`` without replacement (kept in row order).
    """
    values = wide.to_numpy(dtype=float)
    if max_lines is not None and len(values) > max_lines:
        values = values[np.sort(rng.choice(len(values), size=int(max_lines), replace=False))]
    lines = []
    for row in values:
        ok = ~np.isnan(row)
        if ok.sum() >= 2:
            lines.append(np.column_stack([x[ok], row[ok]]))
    return lines


def slope_figure(data: pd.DataFrame, waves: list[str], max_lines: int = MAX_SLOPE_LINES, seed: int = 0):
    """Spaghetti plot of domain scores by wave, one panel per cohort x domain.

    Each panel draws its respondents' lines as one LineCollection (a seeded sample of
    ``max_lines`` when there are more; the panel notes "n of N lines shown"); the means
    and 95% t intervals use every respondent.
    """
    dom = data[data["level"] == "domain"]
    cohorts = [c for c in sorted(dom["cohort"].unique()) if dom.loc[dom.cohort == c, "wave"].nunique() > 1]
    domains = sorted(dom["item"].unique())
    rng = np.random.default_rng(seed)
    with _style():
        fig, axes = plt.subplots(max(len(cohorts), 1), max(len(domains), 1), figsize=(3 * max(len(domains), 1),
                                 2.4 * max(len(cohorts), 1)), sharey=True, squeeze=False)
        palette = sns.color_palette("deep", max(len(domains), 1))
        for i, cohort in enumerate(cohorts):
            sub = dom[dom.cohort == cohort]
            seen = set(sub["wave"].unique())
            present = [w for w in waves if w in seen]
            for j, domain in enumerate(domains):
                ax = axes[i, j]
                d = sub[sub.item == domain]
                wide = d.pivot_table(index="respondent", columns="wave", values="score", aggfunc="first")
                wide = wide.reindex(columns=present)
                x = np.arange(len(present), dtype=float)
                lines = respondent_lines(wide, x, max_lines, rng)
                if lines:
                    ax.add_collection(LineCollection(lines, colors="0.6", linewidths=0.6, alpha=0.35),
                                      autolim=True)
                if max_lines is not None and len(wide) > max_lines:
                    ax.text(0.02, 0.03, f"{min(max_lines, len(wide)):,} of {len(wide):,} lines shown",
                            transform=ax.transAxes, fontsize=6, color="0.35")
                mean = wide.mean()
                n = wide.count()
                se = wide.std(ddof=1) / np.sqrt(n)
                q = stats.t.ppf(0.975, np.maximum(n - 1, 1))
                ax.errorbar(x, mean.to_numpy(), yerr=(q * se).to_numpy(), color=palette[j], lw=2.2, marker="o",
                            capsize=3)
                ax.set_xticks(x, present)
                ax.set_xlim(-0.3, len(present) - 0.7)
                ax.autoscale_view(scalex=False)
                if i == 0:
                    ax.set_title(domain)
                if j == 0:
                    ax.set_ylabel(f"{cohort}\nscore")
        fig.tight_layout()
    return fig


def forest_figure(change: pd.DataFrame, meta: pd.DataFrame, waves: list[str]):
    """Forest plot of mean change (first to last wave) with 95% CIs and pooled REML diamonds."""
    dom = change[(change["level"] == "domain") & (change["cohort"] != "pooled")].copy()
    rank = {w: i for i, w in enumerate(waves)}
    dom["_r"] = dom["wave_to"].map(rank)
    dom = dom.loc[dom.groupby(["cohort", "item"])["_r"].idxmax()].sort_values(["item", "cohort"])
    rows = []
    for domain, sub in dom.groupby("item", sort=True):
        for rec in sub.itertuples():
            rows.append((f"{domain}: {rec.cohort} ({rec.wave_from}-{rec.wave_to}, n={rec.n_pairs})",
                         rec.mean_diff, rec.diff_ci_low, rec.diff_ci_high, False))
        m = meta[(meta["domain"] == domain) & (meta["method"] == "reml")]
        if not m.empty:
            r = m.iloc[0]
            hk = (getattr(r, "hk_ci_low", np.nan), getattr(r, "hk_ci_high", np.nan))
            rows.append((f"{domain}: pooled (REML, k={int(r.k)}, I\u00b2={r.i2 * 100 if np.isfinite(r.i2) else float('nan'):.0f}%)",
                         r.estimate, r.ci_low, r.ci_high, hk))
    with _style():
        fig, ax = plt.subplots(figsize=(7, 0.32 * max(len(rows), 1) + 1))
        y = np.arange(len(rows))[::-1]
        for yy, (label, est, lo, hi, pooled) in zip(y, rows):
            if pooled:
                if all(np.isfinite(pooled)):  # the Hartung-Knapp interval, a line through the diamond
                    ax.plot(list(pooled), [yy, yy], color="black", lw=1)
                ax.fill([lo, est, hi, est], [yy, yy + 0.3, yy, yy - 0.3], color="black")
            else:
                ax.errorbar(est, yy, xerr=[[est - lo], [hi - est]], fmt="s", color="C0", capsize=2, ms=4)
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_yticks(y, [r[0] for r in rows])
        ax.set_xlabel("Mean change in domain score (95% CI)")
        fig.tight_layout()
    return fig


def likert_figure(data: pd.DataFrame, waves: list[str], labels: dict[int, str] | None = None):
    """Diverging stacked bars of item responses (1..5) by item and wave, all cohorts together."""
    items = data[(data["level"] == "item")].copy()
    items["response"] = items["score"].round().astype(int)
    levels = sorted(labels) if labels else sorted(items["response"].unique())
    counts = items.groupby(["item", "wave", "response"]).size().unstack("response").reindex(columns=levels).fillna(0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    order = [(it, w) for it in sorted(items["item"].unique()) for w in waves if (it, w) in shares.index]
    shares = shares.reindex(order)
    mid = len(levels) // 2
    neutral = levels[mid] if len(levels) % 2 == 1 else None
    colours = list(sns.color_palette("RdBu", len(levels)))
    if neutral is not None:
        colours[levels.index(neutral)] = (0.82, 0.82, 0.82)
    with _style():
        fig, ax = plt.subplots(figsize=(8, 0.28 * max(len(order), 1) + 1.2))
        y = np.arange(len(order))[::-1]
        left_start = -(shares[[lv for lv in levels if lv < (neutral if neutral is not None else levels[mid])]].sum(axis=1)
                       + (shares[neutral] / 2 if neutral is not None else 0))
        left = left_start.to_numpy().copy()
        for k, lv in enumerate(levels):
            width = shares[lv].to_numpy()
            name = labels.get(lv, str(lv)) if labels else str(lv)
            ax.barh(y, width, left=left, color=colours[k], edgecolor="white", lw=0.3, label=name)
            left = left + width
        ax.axvline(0, color="0.2", lw=0.8)
        ax.set_yticks(y, [f"{it} ({w})" for it, w in order])
        ax.set_xlim(-1, 1)
        ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
        ax.set_xlabel("Share of responses")
        ax.legend(ncol=len(levels), loc="upper center", bbox_to_anchor=(0.5, -0.08 if len(order) > 10 else -0.2),
                  fontsize=7, frameon=False)
        fig.tight_layout()
    return fig


def feedback_figure(fb: pd.DataFrame, mask: pd.DataFrame, marker: str = "<5"):
    """Proportions answering yes with Wilson 95% CIs; suppressed cells not drawn."""
    hide = (mask["k"] | mask["n"]).to_numpy() if not fb.empty else np.array([], bool)
    frame = fb.assign(hidden=hide).sort_values(["item", "cohort", "wave"]).reset_index(drop=True)
    with _style():
        fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(frame), 1) + 1))
        y = np.arange(len(frame))[::-1]
        for yy, rec in zip(y, frame.itertuples()):
            if rec.hidden:
                # no marker here: a cell may be below the threshold or hidden to protect another
                ax.text(0.5, yy, "withheld (disclosure control; range in the feedback table)", va="center",
                        ha="center", fontsize=7, color="0.4")
                continue
            ax.errorbar(rec.pct, yy, xerr=[[rec.pct - rec.pct_ci_low], [rec.pct_ci_high - rec.pct]], fmt="o",
                        color="C2", capsize=2, ms=4)
        ax.set_yticks(y, [f"{r.item}: {r.cohort} ({r.wave})" for r in frame.itertuples()])
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("Proportion answering yes (Wilson 95% CI)")
        fig.tight_layout()
    return fig


def make_all(data, change, meta, fb, fb_mask, waves, folder: Path, instrument: dict, marker: str = "<5",
             seed: int = 0) -> dict:
    """Draw and save the four scores figures; return {label: [png, svg]} (``seed``: the slope sample)."""
    labels = {int(k): v for k, v in (instrument.get("scale", {}).get("labels", {}) or {}).items()}
    draw = {"slopes": lambda: slope_figure(data, waves, seed=seed), "forest": lambda: forest_figure(change, meta, waves),
            "likert": lambda: likert_figure(data, waves, labels), "feedback": lambda: feedback_figure(fb, fb_mask, marker)}
    out = {}
    for key in progress(list(draw), desc="scores figures", leave=False):
        fig = draw[key]()  # one figure open at a time
        try:
            out[LABELS[key]] = save_figure(fig, LABELS[key], folder)
        finally:
            plt.close(fig)
    return out
