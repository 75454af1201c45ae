"""The performance benchmark (``pcnstudy bench``). Not part of the pipeline.

``scenarios`` runs the chosen scenarios and gathers the public names; ``measure`` times
a process tree and samples its memory; ``child_stages`` runs one stage in a measured
child process; ``dvc_runs`` the cold, noop and incremental ``dvc repro`` and the floor
beside cold (stage notebooks cut after their imports, a one-paragraph paper);
``scaled_studies`` the national and growth studies; ``throughput`` the theme model
against gensim; ``report`` the budgets, the table and reports/bench.json."""
