"""The twin check: the analysis of the simulated twin set beside the generator's truth.

A declared pipeline step of its own (``pcnstudy twin``, dvc.yaml stage ``twin``), run
after the analysis stages, which never read the truth. For each simulated cohort that
the run analysed it compares:

- each domain's change (``change_truth``): the scores stage's estimate of the mean
  change and of the percent change of the mean, with its confidence interval, against
  the generator's population value (``data/simulation_truth/effects.json``), and whether
  the interval covers it;
- each codebook theme (``theme_truth``): the share of responses the themes stage assigned
  to it and the share the generator wrote it into (``text_themes.csv``), with Cohen's
  kappa between the two codings of the same responses.

A study of real cohorts only has nothing to compare: the step writes an empty check,
and the paper's validation section is left out.
"""
