"""The simulated twin: raw exports generated from a config, and their truth. Not part
of the pipeline (data/raw is its input, never its output).

``twin`` gathers the public names; ``config`` reads simulation.yml into cohort specs,
``ratings`` draws rosters and Likert ratings, ``truth`` gives the generating truth,
``text`` composes free-text answers, ``export_cells`` and ``xlsx`` write the cells and
files of an export, ``cohort_files`` one cohort's folder, ``study`` the whole study and
the ``pcnstudy simulate`` command."""
