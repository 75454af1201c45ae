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

The simulator's public names, gathered here from the modules that define them:

- ``config``: ``load_config``, ``load_instrument``, ``cohort_spec``, ``cohort_rng``,
  ``SimulationConfigError``, ``RATINGS_DEFAULTS``, ``TEXT_DEFAULTS``;
- ``ratings``: ``simulate_roster``, ``simulate_ratings``, ``RATINGS_COLUMNS``;
- ``truth``: ``true_effects``, ``latent_shifts``, ``sample_effects``, ``expected_score``,
  ``THRESHOLDS``;
- ``cohort_files``: ``simulate_cohort`` (one cohort's folder; cells and writers in
  ``export_cells``, free text and personal data composed by ``text``, workbooks by
  ``xlsx``);
- ``study``: ``simulate_study``, ``simulate_command`` (``pcnstudy simulate``),
  ``TEXT_THEMES_COLUMNS``, ``PII_COLUMNS``.

A cohort spec may say ``design: anonymous`` (no id column: cohort.yml gets ``design:
anonymous``, the truth records it; the realised ``sample`` means are per wave, so they
are the unpaired truth) and ``layout: googleforms`` (Timestamp first, grid item headers).

A minimal hand-written spec: ``{"cohort": "x", "pcns": [...], "n_respondents": 40,
"waves": {"baseline": {"items": True}, "end": {"items": True}}, "attrition":
{"end": 0.15}, "ratings": {"pct_change": {"leadership": 0.24, ...}}}``; missing
ratings settings come from ``ratings_defaults`` of simulation.yml (or the built-in
``RATINGS_DEFAULTS``). Every random draw comes from the ``numpy.random.Generator``
passed in (files: one stream per cohort from ``(seed, crc32(cohort id))``), so the
same config and seed give byte-identical files.

Not part of the pipeline (data/raw is its input, never its output). Where the work is
done: ``config`` (the simulation config), ``truth`` (the generating truth), ``ratings``
(rosters and Likert ratings), ``text`` (free text), ``export_cells`` and ``cohort_files``
(one cohort's files), ``study`` (the whole study and ``pcnstudy simulate``).
"""
