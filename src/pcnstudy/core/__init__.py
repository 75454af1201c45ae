"""The shared core every stage uses: paths, parameters, problems, disclosure control,
plotting, reading user text files, proportions, the pinned environment and the stage
notebook runner. The core imports no stage subpackage."""
