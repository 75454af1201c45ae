"""Redact personal data in free text, offline, with typed placeholders.

Takes free text (and the cohort's own list of participant and staff names, plus any
name and email values from the export's name/email columns) and gives the text with
each personal item replaced by a typed placeholder, and the spans it replaced:

========== ===================================================================
[EMAIL]    e-mail addresses
[NHS_NUMBER] 10-digit NHS numbers (with or without spaces/dashes) that pass the
           mod-11 check digit (``nhs_number.is_valid``)
[PHONE]    UK phone numbers: mobiles (07xxx), landlines (01/02/03 ...), with
           spaces, dashes or brackets, and +44 forms (also "+44 (0)")
[POSTCODE] full UK postcodes (outward + inward code, e.g. "LE1 7RH")
[NAME]     the cohort's names (full names case-insensitively; their given names and
           surnames as capitalised words), names after a title (Dr, Mrs ...), and
           names from faker's en_GB given-name and surname lists
========== ===================================================================

Precision rules for names: a capitalised word from the lists counts as a name, but
words that are also ordinary English words (Will, Hope, May, Mark, Grace, Faith,
June, Green, Long, Ward ...) count only with context: a title before them, a
neighbouring name (given name + surname), or, mid-sentence, a verb or preposition
that introduces a person ("thanks to Grace", "Will said"). Months after "in/by/since"
stay. ``redaction_scores`` measures recall and precision against planted strings.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import nhs_number
from faker.providers.person.en_GB import Provider

try:
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory
except ImportError:  # simplemma's module layout changed: name_lists falls back to the hand list
    DefaultDictionaryFactory = None

PLACEHOLDERS = {
    "name": "[NAME]",
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "nhs_number": "[NHS_NUMBER]",
    "postcode": "[POSTCODE]",
}
KINDS = tuple(PLACEHOLDERS)
#: Priority when spans overlap (lower wins at the same start).
_PRIORITY = {"email": 0, "nhs_number": 1, "phone": 2, "postcode": 3, "name": 4}

EMAIL = re.compile(r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+'\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
NHS = re.compile(r"(?<![\d+])([1-9]\d{2})[ \-]?(\d{3})[ \-]?(\d{4})(?!\d)")
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\s?44\s?(?:\(0\)\s?)?\(?[1-9](?:[\s\-()]{0,2}\d){8,9}"  # +44 7700 900123, +44 (0)116 ...
    r"|\(?0[1-9](?:[\s\-()]{0,2}\d){8,9}"  # 07700 900123, (0116) 496 0123, 020 7946 0958
    r")(?![\d])"
)
POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR ?0AA|[A-PR-UWYZ](?:[0-9][0-9A-HJKPSTUW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?)"
    r"\s?[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Z][a-z]*(?:[A-Z][a-z]+)?(?:[’'\-][A-Z][a-z]+)*|[a-z][a-z’'\-]*")
TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "Miss", "Mx", "Prof", "Professor", "Dame", "Sir", "Rev"})
#: Given names that are also common English words or months: need context to count.
AMBIGUOUS_GIVEN = frozenset(
    """Will Hope May Mark Grace Faith Joy Rose Bill Jack Frank Dawn June Holly Heather Amber Jade
    Hazel Guy Max Victor Robin Glen Dean Ross Carol Sally Jean Pat Sue Chase Hunter Summer Autumn
    Ruby Crystal Iris Lily Daisy Ivy Olive Pearl Sky Rich Sunny Art Gene Bob Don Kim Lee Jay Harry
    Christian Rosemary Jordan Victoria Florence Georgia Chelsea Paige Shannon Sian Grant Miles Page
    Norman Bruce Dale Leigh Lynn Angel Hilary Denis""".split()
)
#: Short forms of given names that faker's lists lack.
EXTRA_GIVEN = frozenset(
    """Will Bob Sue Pat Jim Jon Tim Rob Nick Chris Dave Steve Mike Liz Jo Bill Ted Dan Matt Andy Pete Rich
    Phil Jen Becky Vicky Nat Tom Jess Ellie Abi Fran Kath Mo Raj Priya Ravi Anil Sunil Aisha Fatima""".split()
)
MONTHS = frozenset("January February March April May June July August September October November December".split())
#: Words before a person's name mid-sentence ("thanks to Grace", "met Will").
_BEFORE = frozenset(
    """with to from thanks thank by met asked told called emailed contact contacted colleague manager
    named ask call see saw ring rang cc dear hi hello mentor coach facilitator""".split()
)
#: Words after a person's name ("Will said", "Grace was").
_AFTER = frozenset("said says was is has had helped told asked who from at and did does mentioned suggested".split())
_DATE_WORDS = frozenset("in by since until till during early late mid of this next last end start".split())
#: Capitalised words that are never names in this study's texts.
_NEVER_NAMES = frozenset("I PCN PCNs GP GPs NHS ICS ICB CCG MDT ARRS QOF DES".split())


@dataclass(frozen=True)
class Span:
    """A stretch of personal data in a text: [start, end), its kind and the text."""

    start: int
    end: int
    kind: str
    text: str


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Return (given names, surnames, surnames that are common English words) from faker en_GB."""
    given = frozenset(Provider.first_names_male) | frozenset(Provider.first_names_female) | EXTRA_GIVEN
    surnames = frozenset(Provider.last_names)
    try:
        english = DefaultDictionaryFactory().get_dictionary("en")
        common = frozenset(name for name in surnames if name.lower() in english)
    except Exception:  # simplemma's dictionary layout changed: fall back to the hand list
        common = frozenset()
    common |= AMBIGUOUS_GIVEN & surnames
    return given, surnames, common


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?\n:;•*-–—"


class _WordIndex:
    """Strings indexed by one of their words, so a text is checked only against the
    strings whose key word it contains (cost grows with the text, not the list).

    A string's key is a whole word that any text containing the string must contain
    as a whole word: for names (matched at word boundaries) the first word; for
    literals (matched anywhere) the longest word strictly inside them. Strings with
    no such word are always checked.
    """

    def __init__(self, strings: Iterable[str], whole_words: bool):
        self.strings = tuple(strings)
        self.always: list[int] = []
        self.by_word: dict[str, list[int]] = {}
        for i, value in enumerate(self.strings):
            runs = re.findall(r"\w+", value.casefold())
            inner = runs if whole_words else runs[1:-1]
            if not inner:
                self.always.append(i)
            else:
                key = inner[0] if whole_words else max(inner, key=len)
                self.by_word.setdefault(key, []).append(i)

    def candidates(self, folded_text: str) -> list[str]:
        if not self.strings:
            return []
        words = set(re.findall(r"\w+", folded_text))
        hits = list(self.always) + [i for w in words if w in self.by_word for i in self.by_word[w]]
        return [self.strings[i] for i in sorted(set(hits))]


@lru_cache(maxsize=65536)
def _full_name_pattern(name: str) -> re.Pattern:
    parts = r"\s+".join(re.escape(part) for part in name.split())
    return re.compile(rf"(?<!\w)(?:{parts})(?!\w)", re.IGNORECASE)


class Redactor:
    """Find and replace personal data in text.

    ``names``: full names of the cohort's participants and staff (from cohort.yml
    ``names:`` and the export's name column); ``literals``: exact strings to remove
    (e.g. the export's email column values); ``use_name_lists``: also use faker's
    en_GB given-name and surname lists.
    """

    def __init__(self, names: Iterable[str] = (), literals: Iterable[str] = (), use_name_lists: bool = True):
        self.names = tuple(sorted({" ".join(str(n).split()) for n in names if n and str(n).strip()}))
        self.literals = tuple(sorted({str(s).strip() for s in literals if s and str(s).strip()}, key=lambda s: (-len(s), s)))
        self.use_name_lists = use_name_lists
        given, surnames, common = name_lists() if use_name_lists else (frozenset(), frozenset(), frozenset())
        own_parts = [part for name in self.names for part in re.findall(r"[^\W\d_][^\s]*[^\W\d_]|[^\W\d_]", name)]
        own = frozenset(part for part in own_parts if part[:1].isupper() and part not in TITLES and len(part) > 1)
        self.given = given
        self.surnames = surnames
        self.name_words = given | surnames | own
        self.ambiguous = (AMBIGUOUS_GIVEN | common | MONTHS) & self.name_words
        # Cohorts can list thousands of names and literals: index them by their first
        # three characters so each text is only checked against those it could contain.
        self._name_index = _WordIndex(sorted(self.names, key=len, reverse=True), whole_words=True)
        self._literal_index = _WordIndex(self.literals, whole_words=False)

    # -- detectors -------------------------------------------------------------
    def _literal_spans(self, text: str) -> list[Span]:
        spans = []
        low = text.casefold()
        for literal in self._literal_index.candidates(low):
            kind = "email" if "@" in literal else "name"
            needle = literal.casefold()
            start = low.find(needle)
            while start >= 0:
                spans.append(Span(start, start + len(needle), kind, text[start : start + len(needle)]))
                start = low.find(needle, start + 1)
        return spans

    @staticmethod
    def _regex_spans(text: str) -> list[Span]:
        spans = [Span(m.start(), m.end(), "email", m.group()) for m in EMAIL.finditer(text)]
        for match in NHS.finditer(text):
            digits = "".join(match.groups())
            if nhs_number.is_valid(digits):
                spans.append(Span(match.start(), match.end(), "nhs_number", match.group()))
        for match in PHONE.finditer(text):
            value = match.group().rstrip(" -(")
            spans.append(Span(match.start(), match.start() + len(value), "phone", value))
        spans += [Span(m.start(), m.end(), "postcode", m.group()) for m in POSTCODE.finditer(text)]
        return spans

    def _name_spans(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for name in self._name_index.candidates(text.casefold()):
            spans += [Span(m.start(), m.end(), "name", m.group()) for m in _full_name_pattern(name).finditer(text)]
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        flagged = [False] * len(words)

        def capital(i: int) -> bool:
            return 0 <= i < len(words) and words[i][2][:1].isupper() and words[i][2] not in _NEVER_NAMES

        def known(word: str) -> bool:
            if word in self.name_words:
                return True
            parts = re.split(r"[-’']", word)
            return len(parts) > 1 and all(part in self.name_words for part in parts if len(part) > 1)

        def is_name_word(i: int) -> bool:
            return capital(i) and known(words[i][2])

        for i, (start, _end, word) in enumerate(words):
            if not capital(i):
                continue
            prev_word = words[i - 1][2] if i > 0 else ""
            next_word = words[i + 1][2] if i + 1 < len(words) else ""
            adjacent_prev = i > 0 and text[words[i - 1][1] : start].strip(" .") == ""
            adjacent_next = i + 1 < len(words) and text[words[i][1] : words[i + 1][0]].strip() == ""
            after_title = adjacent_prev and prev_word in TITLES
            if word in TITLES:
                # A title followed by a capitalised word: the title and the name together.
                if adjacent_next and capital(i + 1) and words[i + 1][2] not in TITLES:
                    flagged[i] = True
                continue
            if after_title or (i > 1 and flagged[i - 1] and words[i - 1][2] in TITLES):
                flagged[i] = True
                continue
            if not known(word):
                # A capitalised surname-like word after a flagged given name (e.g. "Sarah Okafor").
                if adjacent_prev and flagged[i - 1] and words[i - 1][2] in self.given and word not in TITLES:
                    if not _sentence_start(text, start):
                        flagged[i] = True
                continue
            pair = (adjacent_prev and is_name_word(i - 1)) or (adjacent_next and is_name_word(i + 1))
            if word not in self.ambiguous:
                flagged[i] = True
                continue
            # Ambiguous: a common word or month that is also a name.
            partner_clear = (adjacent_prev and is_name_word(i - 1) and words[i - 1][2] not in self.ambiguous) or (
                adjacent_next and is_name_word(i + 1) and words[i + 1][2] not in self.ambiguous
            )
            if partner_clear:
                flagged[i] = True
                continue
            if pair and not _sentence_start(text, start) and word not in MONTHS:
                flagged[i] = True
                continue
            if _sentence_start(text, start):
                if next_word in _AFTER and word not in MONTHS and next_word not in ("is", "has", "and"):
                    flagged[i] = True
                continue
            if word in MONTHS and prev_word.lower() in _DATE_WORDS:
                continue
            if prev_word.lower() in _BEFORE or next_word in _AFTER:
                flagged[i] = True
        # A possessive or a hyphenated continuation stays inside the name span.
        i = 0
        while i < len(words):
            if not flagged[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(words) and flagged[j + 1] and text[words[j][1] : words[j + 1][0]].strip() == "":
                j += 1
            start, end = words[i][0], words[j][1]
            spans.append(Span(start, end, "name", text[start:end]))
            i = j + 1
        return spans

    def find(self, text: str) -> list[Span]:
        """Return the non-overlapping spans of personal data in ``text``, in order."""
        if not isinstance(text, str) or not text:
            return []
        candidates = self._literal_spans(text) + self._regex_spans(text) + self._name_spans(text)
        candidates.sort(key=lambda s: (s.start, -(s.end - s.start), _PRIORITY[s.kind]))
        chosen: list[Span] = []
        for span in candidates:
            if chosen and span.start < chosen[-1].end:
                continue
            chosen.append(span)
        return chosen

    def redact(self, text: str) -> tuple[str, list[Span]]:
        """Return ``text`` with each personal item replaced by its placeholder, and the spans."""
        spans = self.find(text)
        if not spans:
            return text, []
        out, last = [], 0
        for span in spans:
            out.append(text[last : span.start])
            out.append(PLACEHOLDERS[span.kind])
            last = span.end
        out.append(text[last:])
        return "".join(out), spans


def redact_text(text: str, names: Iterable[str] = (), literals: Iterable[str] = ()) -> str:
    """Redact one text with a fresh ``Redactor`` (convenience for a single call)."""
    return Redactor(names, literals).redact(text)[0]


def count_kinds(spans: Iterable[Span]) -> dict[str, int]:
    """Count redacted spans per kind (every kind present, zeros included)."""
    counts = Counter(span.kind for span in spans)
    return {kind: int(counts.get(kind, 0)) for kind in KINDS}


def _covered(start: int, end: int, text: str, spans: list[Span]) -> bool:
    """True when every letter and digit of text[start:end] lies inside some span."""
    for pos in range(start, end):
        if text[pos].isalnum() and not any(s.start <= pos < s.end for s in spans):
            return False
    return True


def redaction_scores(texts_raw, truth_pii, names_by_cohort: dict | None = None, literals_by_cohort: dict | None = None) -> dict:
    """Measure redaction recall and precision against planted personal data.

    ``texts_raw``: a table with response_id, cohort and text (the raw, unredacted
    text); ``truth_pii``: the planted strings with text_response_id (or
    response_id), kind and string (data/simulation_truth/pii.csv). A planted string
    counts as caught when none of its letters or digits remains after redaction
    (string level). A redacted span counts as correct when it overlaps a planted
    string of the same response. Gives recall, precision, their counts, and recall
    per kind.
    """
    names_by_cohort = names_by_cohort or {}
    literals_by_cohort = literals_by_cohort or {}
    id_column = "text_response_id" if "text_response_id" in truth_pii.columns else "response_id"
    truth = truth_pii[truth_pii[id_column].notna() & (truth_pii[id_column].astype(str) != "")]
    planted: dict[str, list[tuple[str, str]]] = {}
    for rid, kind, string in zip(truth[id_column].astype(str), truth["kind"].astype(str), truth["string"].astype(str)):
        planted.setdefault(rid, []).append((kind, string))
    redactors: dict[str, Redactor] = {}
    caught = missed = tp_spans = fp_spans = 0
    per_kind: dict[str, list[int]] = {}
    misses: list[dict] = []
    false_positives: list[dict] = []
    for rid, cohort, text in zip(texts_raw["response_id"].astype(str), texts_raw["cohort"].astype(str), texts_raw["text"]):
        if not isinstance(text, str):
            continue
        if cohort not in redactors:
            redactors[cohort] = Redactor(names_by_cohort.get(cohort, ()), literals_by_cohort.get(cohort, ()))
        spans = redactors[cohort].find(text)
        occurrences = []
        for kind, string in planted.get(rid, []):
            start = text.find(string)
            hit = start >= 0 and _covered(start, start + len(string), text, spans)
            if start >= 0:
                occurrences.append((start, start + len(string)))
            tally = per_kind.setdefault(kind, [0, 0])
            tally[0 if hit else 1] += 1
            if hit:
                caught += 1
            else:
                missed += 1
                misses.append({"response_id": rid, "kind": kind, "string": string})
        for span in spans:
            if any(span.start < end and start < span.end for start, end in occurrences):
                tp_spans += 1
            else:
                fp_spans += 1
                false_positives.append({"response_id": rid, "kind": span.kind, "string": span.text})
    total = caught + missed
    return {
        "recall": caught / total if total else float("nan"),
        "precision": tp_spans / (tp_spans + fp_spans) if tp_spans + fp_spans else float("nan"),
        "n_planted": total,
        "n_caught": caught,
        "n_spans": tp_spans + fp_spans,
        "n_spans_correct": tp_spans,
        "recall_by_kind": {kind: hits / (hits + miss) for kind, (hits, miss) in sorted(per_kind.items())},
        "misses": misses,
        "false_positives": false_positives,
    }
