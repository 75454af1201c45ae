"""Redaction of personal data in free text: each kind, precision rules, and scores on the twin."""
from __future__ import annotations

import json
from pathlib import Path

import nhs_number
import pandas as pd
import pytest
from faker import Faker

from pcnstudy.core import paths
from pcnstudy.core.params import load_yaml
from pcnstudy.ingest.cohort_ingester import ingest_cohort
from pcnstudy.ingest.pseudonym import DEMO_KEY
from pcnstudy.ingest.redact import Redactor, count_kinds, redaction_scores
from pcnstudy.ingest.stage import cohort_dirs

TARGETS = json.loads((Path(__file__).parent / "results" / "redaction_targets.json").read_text())


@pytest.mark.parametrize("text,expected", [
    ("Email cd.ahmed@nhs.net please", "Email [EMAIL] please"),
    ("NHS no 943 476 5919 here", "NHS no [NHS_NUMBER] here"),
    ("NHS no 9434765919.", "NHS no [NHS_NUMBER]."),
    ("call 07700 900123 or (0116) 496 0123", "call [PHONE] or [PHONE]"),
    ("ring +44 (0)20 7946 0958 today", "ring [PHONE] today"),
    ("ring +447700900123", "ring [PHONE]"),
    ("office at LE1 7RH", "office at [POSTCODE]"),
    ("thanks to Sarah Jones and Dr Okonkwo", "thanks to [NAME] and [NAME]"),
])
def test_each_kind(text, expected):
    assert Redactor().redact(text)[0] == expected


def test_invalid_nhs_checksum_is_not_an_nhs_number():
    assert "[NHS_NUMBER]" not in Redactor().redact("ref 943 476 5918")[0]


@pytest.mark.parametrize("text", [
    "Will the programme continue? I hope so.",
    "In May we met the council. Mark my words, it helped.",
    "We discussed Long Covid and the Green Plan with system partners.",
    "Grace and faith in the process, said nobody.",
])
def test_common_words_that_are_names_stay(text):
    assert Redactor().redact(text)[0] == text


def test_ambiguous_names_with_context_are_redacted():
    assert Redactor().redact("I was coached by Grace. Thanks to Will Hughes.")[0] == \
        "I was coached by [NAME]. Thanks to [NAME]."


def test_cohort_names_case_insensitive_and_parts():
    redactor = Redactor(names=["Asha Patel"], literals=["a.patel@nhs.net"])
    assert redactor.redact("asha patel and Asha helped; mail a.patel@nhs.net")[0] == \
        "[NAME] and [NAME] helped; mail [EMAIL]"
    assert count_kinds(redactor.find("Asha, 07700 900123"))["phone"] == 1


def test_scores_count_partial_redaction_as_miss():
    texts = pd.DataFrame({"response_id": ["a"], "cohort": ["c"], "text": ["met Zebedee Qwerty today"]})
    truth = pd.DataFrame({"text_response_id": ["a"], "kind": ["name"], "string": ["Zebedee Qwerty"]})
    scores = redaction_scores(texts, truth)
    assert scores["recall"] == 0.0
    scores = redaction_scores(texts, truth, names_by_cohort={"c": ["Zebedee Qwerty"]})
    assert scores["recall"] == 1.0 and scores["precision"] == 1.0


@pytest.mark.skipif(not (paths.TRUTH / "pii.csv").is_file() or not paths.RAW.is_dir(),
                    reason="data/raw or data/simulation_truth/pii.csv is absent: run `pcnstudy simulate`")
def test_redaction_on_the_simulated_twin():
    texts, names, literals = [], {}, {}
    instrument = load_yaml(paths.INSTRUMENT)
    for folder in cohort_dirs(paths.RAW, None):
        data = ingest_cohort(folder, DEMO_KEY, instrument)
        texts += data.raw_texts
        names[data.cohort], literals[data.cohort] = data.names, data.literals
    truth = pd.read_csv(paths.TRUTH / "pii.csv", dtype=str)
    scores = redaction_scores(pd.DataFrame(texts), truth, names, literals)
    assert scores["n_planted"] > 0
    assert scores["recall"] >= TARGETS["min_recall"], scores["misses"]
    assert scores["precision"] >= TARGETS["min_precision"], scores["false_positives"]


def test_redaction_on_generated_planted_data():
    """A larger seeded check: faker en_GB names, phones, postcodes inside plain sentences."""
    fake = Faker("en_GB")
    fake.seed_instance(3)
    frames, truth = [], []
    templates = [
        "The sessions with {x} helped me think about our network.",
        "Please contact {x} about the action learning set.",
        "We met weekly; {x} was the point of contact for partners.",
    ]
    kinds = {
        "name": fake.name, "email": fake.email, "phone": fake.phone_number, "postcode": fake.postcode,
        "nhs_number": lambda: nhs_number.standardise_format(nhs_number.generate()[0])
        if hasattr(nhs_number, "standardise_format") else nhs_number.generate()[0],
    }
    i = 0
    for kind, make in kinds.items():
        for k in range(40):
            value = make()
            if kind == "name":
                value = value.split(" ", 1)[-1] if value.split()[0] in ("Dr", "Mr", "Mrs", "Ms", "Miss") else value
            rid = f"r{i}"
            frames.append({"response_id": rid, "cohort": "c", "text": templates[k % 3].format(x=value)})
            truth.append({"text_response_id": rid, "kind": kind, "string": value})
            i += 1
    scores = redaction_scores(pd.DataFrame(frames), pd.DataFrame(truth))
    assert scores["recall"] >= TARGETS["min_recall"], scores["misses"][:10]
    assert scores["precision"] >= TARGETS["min_precision"], scores["false_positives"][:10]
