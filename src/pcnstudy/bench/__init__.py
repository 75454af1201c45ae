"""The performance benchmark (``pcnstudy bench``). Not part of the pipeline."""
