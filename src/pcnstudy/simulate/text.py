"""Free text of the simulated twin: answers composed from theme phrase banks.

Takes a phrase bank (config/phrases.yml: per theme, noun phrases for "what did you
value", sentences for "what have you done differently", and opinions for "what is the
PCN for" and interviews, and highlights looking back on a programme), theme weights and a numpy Generator; gives answers that
speak to exactly the themes drawn (0-3), with typing slips, odd casing, and at a low
rate one piece of personal data (a name, email, UK phone number, valid-checksum NHS
number or postcode) whose exact string is returned for the truth tables.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

REGISTER = {"valued_most": "valued", "done_differently": "action", "pcn_purpose": "view", "interview": "view",
            "highlights": "highlight"}


def weighted_choice(rng: np.random.Generator, weights: dict[str, float], size: int | None = None):
    keys = list(weights)
    p = np.array([float(weights[k]) for k in keys])
    idx = rng.choice(len(keys), size=size, p=p / p.sum())
    return keys[idx] if size is None else [keys[i] for i in idx]



def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _decap(text: str) -> str:
    if len(text) > 1 and text[1].isupper():  # keep "MDT", "I "
        return text
    return text[:1].lower() + text[1:] if text and not text.startswith("I ") else text


def pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def choose_themes(rng: np.random.Generator, weights: dict[str, float], n_themes: list[float], bank: dict, register: str) -> list[str]:
    """Draw 0-3 distinct themes (weighted, without replacement) that have phrases in ``register``."""
    usable = {t: float(w) for t, w in weights.items() if bank.get(t, {}).get(register)}
    p = np.array(n_themes, dtype=float)
    k = int(rng.choice(len(p), p=p / p.sum()))
    k = min(k, len(usable))
    if k == 0:
        return []
    keys = list(usable)
    w = np.array([usable[t] for t in keys])
    idx = rng.choice(len(keys), size=k, replace=False, p=w / w.sum())
    return [keys[i] for i in idx]


def compose_text(rng: np.random.Generator, themes: list[str], register: str, phrases: dict[str, Any]) -> str:
    """Write one answer in ``register`` (valued | action | view | highlight) that speaks to exactly ``themes``."""
    bank, templates = phrases["themes"], phrases["templates"]
    if not themes:
        return pick(rng, phrases["empty"][register])
    sentences: list[str] = []
    if register == "valued":
        for k, theme in enumerate(themes):
            np_ = pick(rng, bank[theme]["valued"])
            template = pick(rng, templates["valued_first" if k == 0 else "valued_more"])
            sentences.append(template.replace("{NP}", _cap(np_)).replace("{np}", np_))
    else:
        for k, theme in enumerate(themes):
            pool = list(bank[theme][register])
            extra = 1 if (register == "view" and len(pool) > 1 and rng.random() < 0.35) else 0
            for i in rng.choice(len(pool), size=1 + extra, replace=False):
                sentences.append(pool[int(i)])
        lead = pick(rng, templates[f"{register}_lead"])
        if lead:
            sentences[0] = lead + (_decap(sentences[0]) if not lead.endswith(". ") else sentences[0])
    return " ".join(sentences)


def add_typos(rng: np.random.Generator, text: str) -> str:
    """Put 1-2 typing slips (swapped, dropped or doubled letters) into words of 5+ letters."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    for _ in range(int(rng.integers(1, 3))):
        i = candidates[int(rng.integers(len(candidates)))]
        w = words[i]
        j = int(rng.integers(1, len(w) - 1))
        kind = int(rng.integers(3))
        if kind == 0:
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        elif kind == 1:
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def nhs_check_digit(nine: str) -> int | None:
    """The NHS number's mod-11 check digit for nine digits (None when 10, i.e. not issued)."""
    total = sum(int(d) * (10 - k) for k, d in enumerate(nine))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def make_nhs_number(rng: np.random.Generator) -> str:
    """A valid-checksum NHS number (10 digits, first digit 4-9)."""
    while True:
        nine = str(int(rng.integers(4, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, 8))
        check = nhs_check_digit(nine)
        if check is not None:
            return nine + str(check)


def _phone(rng: np.random.Generator) -> str:
    digits = lambda k: "".join(str(int(d)) for d in rng.integers(0, 10, k))  # noqa: E731
    style = int(rng.integers(6))
    if style == 0:
        return f"07{digits(3)} {digits(6)}"
    if style == 1:
        return f"+44 7{digits(3)} {digits(6)}"
    if style == 2:
        return f"07{digits(3)} {digits(3)} {digits(3)}"
    if style == 3:
        return f"01{digits(3)} {digits(6)}"
    if style == 4:
        return f"020 {digits(4)} {digits(4)}"
    return f"01{digits(2)} {digits(3)} {digits(4)}"


def ascii_letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def make_pii(rng: np.random.Generator, kind: str, faker, names: list[str]) -> str:
    """One string of personal data of ``kind`` (name, email, phone, nhs_number, postcode)."""
    if kind == "name":
        if names and rng.random() < 0.5:
            return pick(rng, names)
        if rng.random() < 0.2:
            return f"Dr {faker.last_name()}"
        return f"{faker.first_name()} {faker.last_name()}"
    if kind == "email":
        first, last = ascii_letters(faker.first_name()), ascii_letters(faker.last_name())
        domain = pick(rng, ["nhs.net", "nhs.net", "gmail.com", "outlook.com"])
        return f"{first}.{last}@{domain}" if rng.random() < 0.7 else f"{first[0]}{last}@{domain}"
    if kind == "phone":
        return _phone(rng)
    if kind == "nhs_number":
        number = make_nhs_number(rng)
        style = int(rng.integers(3))
        if style == 0:
            return f"{number[:3]} {number[3:6]} {number[6:]}"
        return number if style == 1 else f"{number[:3]}-{number[3:6]}-{number[6:]}"
    if kind == "postcode":
        return faker.postcode()
    raise ValueError(f"unknown personal-data kind {kind!r}")


def write_answer(rng, *, weights, register, settings, phrases, faker, names) -> tuple[str, list[str], list[tuple[str, str]]]:
    """Compose one free-text answer: (text, true themes, [(kind, planted string)])."""
    themes = choose_themes(rng, weights, settings["n_themes"], phrases["themes"], register)
    text = compose_text(rng, themes, register, phrases)
    if rng.random() < settings["typo"]:
        text = add_typos(rng, text)
    if rng.random() < 0.05:
        text = text.lower()
    elif rng.random() < 0.08:
        text = text.rstrip(".")
    pii: list[tuple[str, str]] = []
    if rng.random() < settings["pii"]:
        kind = weighted_choice(rng, settings["pii_kinds"])
        value = make_pii(rng, kind, faker, names)
        sentence = pick(rng, phrases["pii"][kind]).replace("{value}", value)
        text = f"{sentence} {text}" if rng.random() < 0.3 else f"{text} {sentence}"
        pii.append((kind, value))
    return text, sorted(themes), pii
