"""``pcnstudy verify``: re-run the pipeline in a clean copy and compare with dvc.lock.
Not part of the pipeline.

``rerun`` compares a clean re-run (and the workspace) with dvc.lock;
``project_copy`` makes the clean copy of the project (also used by the benchmark)."""
