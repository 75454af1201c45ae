"""pcnstudy: a reproducible research compendium evaluating leadership-development
programmes for NHS Primary Care Networks (PCNs).

Raw cohort survey exports go in; validated tables, change scores, a thematic analysis
of free text, figures and a rendered paper come out, under one DVC pipeline.
"""

__version__ = "0.1.0"
