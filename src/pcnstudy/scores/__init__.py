"""The scores stage: change scores, mixed and ordinal models, reliability, attrition,
feedback proportions, meta-analysis, their figures and the stage itself."""
