"""The paper stage and the cohort report.

- ``manuscript``: the paper stage (``read_inputs``, a pure ``compute``, ``write``) and
  ``pcnstudy paper``;
- ``inputs``: readers of what the paper is made from (results, quotes, the processed
  cohorts table), never data/raw;
- ``values``: how a value is written (by its statistic's name), flatten/nest;
- ``prose``: the cohorts the prose speaks of, its generated sentences and conditions;
- ``tables``: the markdown tables; ``colophon``: commit, dates, hashes, versions;
- ``render``: Quarto, or pandoc and typst, with the Lua filters of ``filters/``;
- ``report``: ``pcnstudy report NAME`` from ``templates/cohort_report.qmd``.
"""
