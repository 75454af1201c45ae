"""The simulated twin: raw exports generated from a config, and their truth. Not part
of the pipeline (data/raw is its input, never its output)."""
