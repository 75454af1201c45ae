"""The ingest stage: survey-export readers, value coercion, cohort config and
validation, pseudonyms, redaction, the new-cohort scaffold and the stage itself
(raw exports in data/raw to the tidy tables of data/processed)."""
