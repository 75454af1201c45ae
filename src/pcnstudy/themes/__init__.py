"""The themes stage: free text coded against a codebook.

stage (read_inputs, compute, write; the results object), command (``pcnstudy themes``),
inputs (reading texts and codes), coding (fitting the model, its tables), prevalence
(prevalence, quotes, co-occurrence), human_codes (evaluation against a researcher's
codes), agreement (kappa, alpha), topics (the guided theme model), free_topics, metrics,
seed_terms, text_units, preprocess, codebook, sentiment, qdpx (REFI-QDA projects),
figures, outputs (CSV and JSON writing).
"""
