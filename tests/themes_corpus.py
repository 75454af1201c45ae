"""A small synthetic corpus for the themes tests: three seeded themes and one the codebook lacks."""
from __future__ import annotations

import numpy as np
import pandas as pd

CODEBOOK_YAML = """\
themes:
  - id: trust
    name: Trust and relationships
    definition: Trust between colleagues.
    seed_terms: [trust, relationship, get to know]
  - id: time
    name: Protected time
    definition: Time away to think.
    seed_terms: [protected time, space to think, reflect]
  - id: mdt
    name: MDT working
    definition: Working across professions.
    seed_terms: [pharmacist, paramedic, social prescriber]
"""

BANKS = {
    "trust": ["we built trust across the practices", "getting to know colleagues built real rapport",
              "our relationship with the neighbouring team grew", "rapport and goodwill between partners grew",
              "I trusted colleagues more and the rapport showed"],
    "time": ["protected time gave me space to think, away from the surgery",
             "time away from the surgery to reflect was precious",
             "the protected time let me step back from the surgery", "protected time to step back and reflect",
             "a chance to step back from the surgery"],
    "mdt": ["the pharmacist and paramedic joined our huddles", "working with the social prescriber changed referrals",
            "our paramedic now visits care homes", "huddles with nurses and the pharmacist every week",
            "care homes now get huddles with the wider team"],
    "parking": ["parking at the hub is impossible", "no parking spaces left at the hub car park",
                "the car park at the hub is always full", "parking spaces at the hub are never free"],
}


def make_corpus(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (texts with id, text; truth with id, theme) built from the phrase banks."""
    rng = np.random.default_rng(seed)
    names = ["trust", "time", "mdt", "parking"]
    texts, truth = [], []
    for i in range(n):
        k = rng.integers(1, 3)
        chosen = sorted(rng.choice(len(names), size=k, replace=False).tolist())
        parts = []
        for c in chosen:
            bank = BANKS[names[c]]
            parts.append(bank[rng.integers(len(bank))])
            truth.append((f"d{i:03d}", names[c]))
        if rng.random() < 0.2:
            parts.append("thanks [NAME] for organising")
        texts.append((f"d{i:03d}", ". ".join(parts) + "."))
    return pd.DataFrame(texts, columns=["id", "text"]), pd.DataFrame(truth, columns=["id", "theme"])
