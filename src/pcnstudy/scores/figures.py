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

``make_all(..., seed=0, cohorts=None)`` draws and saves the four and returns their paths
(``seed``: params.yaml ``scores.seed``, for the sample of lines in fig-slopes; ``cohorts``:
the cohorts table, whose programmes label the cohorts). Every figure names cohorts,
domains and items by ``names`` ({"cohort": {id: label}, "domain": ..., "item": ...},
``pcnstudy.core.labels``), never by id, in text of ``FONT_PT`` points, at a width the
PDF prints without shrinking that text below 8 points.
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

from pcnstudy.core.labels import cohort_labels, domain_labels, item_labels  # noqa: E402
from pcnstudy.core.plots import FONT_PT, PRINT_WIDTH_IN, save_figure, wrap  # noqa: E402
from pcnstudy.core.progress import progress

#: Most respondents' lines drawn per panel of fig-slopes; above this, a seeded sample.
MAX_SLOPE_LINES = 200
LABELS = {"slopes": "fig-slopes", "forest": "fig-forest", "likert": "fig-likert", "feedback": "fig-feedback"}


def _style():
    style = dict(sns.axes_style("whitegrid"))
    style.update({"font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
                  "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT})
    return plt.rc_context(style)


def _name(names, kind: str, key) -> str:
    return str(((names or {}).get(kind) or {}).get(str(key), key))


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


def slope_figure(data: pd.DataFrame, waves: list[str], max_lines: int = MAX_SLOPE_LINES, seed: int = 0,
                 names=None):
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
        fig, axes = plt.subplots(max(len(cohorts), 1), max(len(domains), 1),
                                 figsize=(PRINT_WIDTH_IN, 1.75 * max(len(cohorts), 1) + 0.6), sharey=True,
                                 squeeze=False)
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
                            transform=ax.transAxes, fontsize=FONT_PT, color="0.35")
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
                    ax.set_title(wrap(_name(names, "domain", domain), 26))
                if j == 0:
                    ax.set_ylabel(wrap(_name(names, "cohort", cohort), 24))
        fig.tight_layout()
    return fig


def forest_figure(change: pd.DataFrame, meta: pd.DataFrame, waves: list[str], names=None):
    """Forest plot of mean change (first to last wave) with 95% CIs and pooled REML diamonds, one panel per domain."""
    dom = change[(change["level"] == "domain") & (change["cohort"] != "pooled")].copy()
    rank = {w: i for i, w in enumerate(waves)}
    dom["_r"] = dom["wave_to"].map(rank)
    dom = dom.loc[dom.groupby(["cohort", "item"])["_r"].idxmax()].sort_values(["item", "cohort"])
    panels = []
    for domain, sub in dom.groupby("item", sort=True):
        rows = []
        for rec in sub.itertuples():
            label = f"{_name(names, 'cohort', rec.cohort)} ({rec.wave_from} to {rec.wave_to}, n={rec.n_pairs})"
            rows.append((wrap(label, 52), rec.mean_diff, rec.diff_ci_low, rec.diff_ci_high, False))
        m = meta[(meta["domain"] == domain) & (meta["method"] == "reml")]
        if not m.empty:
            r = m.iloc[0]
            hk = (getattr(r, "hk_ci_low", np.nan), getattr(r, "hk_ci_high", np.nan))
            i2 = f"{r.i2 * 100:.0f}%" if np.isfinite(r.i2) else "n/a"
            rows.append((f"Pooled (REML, k={int(r.k)}, I\u00b2={i2})", r.estimate, r.ci_low, r.ci_high, hk))
        panels.append((_name(names, "domain", domain), rows))
    heights = [sum(0.2 + 0.16 * row[0].count("\n") for row in rows) + 0.5 for _, rows in panels] or [1.0]
    with _style():
        fig, axes = plt.subplots(max(len(panels), 1), 1, figsize=(PRINT_WIDTH_IN, sum(heights) + 0.6), sharex=True,
                                 squeeze=False, gridspec_kw={"height_ratios": heights})
        for ax, (title, rows) in zip(axes[:, 0], panels):
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
            ax.set_ylim(-0.7, len(rows) - 0.3)
            ax.set_title(title, loc="left")
        axes[-1, 0].set_xlabel("Mean change in domain score (95% CI)")
        fig.tight_layout()
    return fig


def likert_figure(data: pd.DataFrame, waves: list[str], labels: dict[int, str] | None = None, names=None):
    """Diverging stacked bars of item responses (1..5) by item and wave, all cohorts together.

    Each item's wording heads its group of bars, one bar per wave."""
    items = data[(data["level"] == "item")].copy()
    items["response"] = items["score"].round().astype(int)
    levels = sorted(labels) if labels else sorted(items["response"].unique())
    counts = items.groupby(["item", "wave", "response"]).size().unstack("response").reindex(columns=levels).fillna(0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    item_ids = sorted(items["item"].unique())
    order = [(it, w) for it in item_ids for w in waves if (it, w) in shares.index]
    shares = shares.reindex(order)
    # y positions: a heading line per item, then its waves
    positions, headings, pos = [], [], 0.0
    for it in item_ids:
        rows = [(i, w) for i, w in order if i == it]
        if not rows:
            continue
        text = wrap(_name(names, "item", it), 75)
        headings.append((pos, text))
        pos += 0.75 + 0.45 * text.count("\n")
        for _ in rows:
            positions.append(pos)
            pos += 1.0
        pos += 0.25
    y = -np.asarray(positions)
    mid = len(levels) // 2
    neutral = levels[mid] if len(levels) % 2 == 1 else None
    colours = list(sns.color_palette("RdBu", len(levels)))
    if neutral is not None:
        colours[levels.index(neutral)] = (0.82, 0.82, 0.82)
    with _style():
        fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.19 * max(pos, 1) + 1.2))
        left_start = -(shares[[lv for lv in levels if lv < (neutral if neutral is not None else levels[mid])]].sum(axis=1)
                       + (shares[neutral] / 2 if neutral is not None else 0))
        left = left_start.to_numpy().copy()
        for k, lv in enumerate(levels):
            width = shares[lv].to_numpy()
            name = labels.get(lv, str(lv)) if labels else str(lv)
            ax.barh(y, width, left=left, height=0.8, color=colours[k], edgecolor="white", lw=0.3, label=wrap(name, 14))
            left = left + width
        for at, text in headings:
            ax.text(0, -at, text, ha="left", va="center", fontsize=FONT_PT, fontweight="bold",
                    transform=ax.get_yaxis_transform())
        ax.axvline(0, color="0.2", lw=0.8)
        ax.set_yticks(y, [w for _, w in order])
        ax.set_ylim(-pos, 0.8)
        ax.grid(False, axis="y")
        ax.set_xlim(-1, 1)
        ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
        ax.set_xlabel("Share of responses")
        ax.legend(ncol=len(levels), loc="upper center", bbox_to_anchor=(0.5, -0.04), frameon=False)
        fig.tight_layout()
    return fig


def feedback_figure(fb: pd.DataFrame, mask: pd.DataFrame, marker: str = "<5", names=None):
    """Proportions answering yes with Wilson 95% CIs; suppressed cells not drawn.

    Each item's wording heads its group of rows, one row per cohort and wave."""
    hide = (mask["k"] | mask["n"]).to_numpy() if not fb.empty else np.array([], bool)
    frame = fb.assign(hidden=hide).sort_values(["item", "cohort", "wave"]).reset_index(drop=True)
    positions, headings, pos, last = [], [], 0.0, None
    for rec in frame.itertuples():
        if rec.item != last:
            text = wrap(_name(names, "item", rec.item), 48)
            headings.append((pos, text))
            pos += 0.8 + 0.5 * text.count("\n")
            last = rec.item
        positions.append(pos)
        pos += 1.0
    y = -np.asarray(positions)
    with _style():
        fig, ax = plt.subplots(figsize=(PRINT_WIDTH_IN, 0.24 * max(pos, 1) + 1))
        for yy, rec in zip(y, frame.itertuples()):
            if rec.hidden:
                # no marker here: a cell may be below the threshold or hidden to protect another
                ax.text(0.5, yy, "withheld (disclosure control)", va="center", ha="center", fontsize=FONT_PT,
                        color="0.4")
                continue
            ax.errorbar(rec.pct, yy, xerr=[[rec.pct - rec.pct_ci_low], [rec.pct_ci_high - rec.pct]], fmt="o",
                        color="C2", capsize=2, ms=4)
        for at, text in headings:
            ax.text(0, -at, text, ha="left", va="center", fontsize=FONT_PT, fontweight="bold",
                    transform=ax.get_yaxis_transform())
        ax.set_yticks(y, [wrap(f"{_name(names, 'cohort', r.cohort)} ({r.wave})", 40) for r in frame.itertuples()])
        ax.set_ylim(-pos, 0.8)
        ax.grid(False, axis="y")
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("Proportion answering yes (Wilson 95% CI)")
        fig.tight_layout()
    return fig


def figure_names(instrument: dict | None, cohorts=None) -> dict[str, dict[str, str]]:
    """The plain labels of the figures: {"cohort": ..., "domain": ..., "item": ...} (``pcnstudy.core.labels``)."""
    return {"cohort": cohort_labels(cohorts), "domain": domain_labels(instrument), "item": item_labels(instrument)}


def make_all(data, change, meta, fb, fb_mask, waves, folder: Path, instrument: dict, marker: str = "<5",
             seed: int = 0, cohorts=None) -> dict:
    """Draw and save the four scores figures; return {label: [png, svg]} (``seed``: the slope sample;
    ``cohorts``: the cohorts table, for the cohorts' labels)."""
    labels = {int(k): v for k, v in (instrument.get("scale", {}).get("labels", {}) or {}).items()}
    names = figure_names(instrument, cohorts)
    draw = {"slopes": lambda: slope_figure(data, waves, seed=seed, names=names),
            "forest": lambda: forest_figure(change, meta, waves, names=names),
            "likert": lambda: likert_figure(data, waves, labels, names=names),
            "feedback": lambda: feedback_figure(fb, fb_mask, marker, names=names)}
    out = {}
    for key in progress(list(draw), desc="scores figures", leave=False):
        fig = draw[key]()  # one figure open at a time
        try:
            out[LABELS[key]] = save_figure(fig, LABELS[key], folder)
        finally:
            plt.close(fig)
    return out
