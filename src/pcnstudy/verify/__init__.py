"""``pcnstudy verify``: re-run the pipeline in a clean copy and compare with dvc.lock.
Not part of the pipeline."""
