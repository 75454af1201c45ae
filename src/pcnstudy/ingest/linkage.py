"""Linking the waves of a cohort by a self-generated identification code (``design: self_code``).

Anonymous pre/post surveys often ask every respondent for a code made from things they
can repeat but others cannot look up (initials, birth month, a digit). Such codes carry
typos, so the waves are linked in two passes, wave after wave in time order:

1. **exact**: a row whose code equals the code of exactly one earlier respondent (not yet
   seen in this wave), and no other row of the wave claims that respondent, is linked;
2. **tolerant**: a row left over is linked to an earlier respondent whose code differs
   in exactly one *element* when that respondent is the row's only such neighbour and
   the row is the respondent's only such neighbour among the rows left over.

An element is one column of a code made of several columns (``columns.self_code: [Initials,
Birth month]``: a wrong birth month still links), or one character of a single-column
code (``AB03`` and ``AB08`` differ in one element). Elements are compared after
normalisation (``normalise_code``: surrounding and inner whitespace removed, lower case,
"3.0" read as "3"); only a substitution is tolerated: a dropped or added character
shifts every later element and is not linked (a wrong match is worse than a missed one).

A row whose code is shared by another row of its wave, or which matches more than one
earlier respondent (or the same one as another row) in either pass, is **ambiguous**:
it is kept, as a respondent of its own, and never linked. A row with no code is kept
unlinked. Nothing is dropped. Takes ``CodeRow``s (an opaque key per row, its wave, its
normalised code) and the wave order; gives ``Linkage``: each row's key to its
respondent's key (the key of that respondent's first row) and per wave the counts
``rows``, ``linked_exact``, ``linked_tolerant``, ``ambiguous``, ``unlinked``, ``no_code``
(in the first wave every coded row is unlinked: there is nothing earlier to link to).
The codes themselves are personal data: the caller keeps them out of every output.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

from pcnstudy.ingest.pseudonym import normalise_id

COUNTS = ("rows", "linked_exact", "linked_tolerant", "ambiguous", "unlinked", "no_code")

Code = tuple[str, ...]


@dataclass(frozen=True)
class CodeRow:
    """One survey row to link: an opaque key, its wave, its normalised code (None when it gave none)."""

    key: Hashable
    wave: str
    code: Code | None


@dataclass
class Linkage:
    """The linking's result: row key -> respondent key, and the counts per wave (``COUNTS``)."""

    respondent: dict[Hashable, Hashable] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class _Person:
    key: Hashable
    codes: set[Code]
    waves: set[str]


def normalise_code(values: Sequence[Any]) -> Code | None:
    """The code of one row as its elements: one column's characters, or several columns' values.

    Each value is normalised (``normalise_id``, then inner whitespace removed); None when
    every value is empty. An empty value among several stays an (empty) element.
    """
    cleaned = ["" if v is None or (isinstance(v, float) and v != v) else "".join(normalise_id(v).split())
               for v in values]
    if not any(cleaned):
        return None
    if len(cleaned) == 1:
        return tuple(cleaned[0])
    return tuple(cleaned)


def one_element_apart(a: Code, b: Code) -> bool:
    """True when two codes have as many elements and differ in exactly one (a substitution)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


def _mask(code: Code, i: int) -> tuple:
    """``code`` with element ``i`` blanked: two codes one element apart share one such key."""
    return (len(code), i, code[:i], code[i + 1:])


def _unique(people: list[_Person]) -> list[_Person]:
    """``people`` without repeats, in first-seen order."""
    seen: set[int] = set()
    return [p for p in people if not (id(p) in seen or seen.add(id(p)))]


def link_waves(rows: Sequence[CodeRow], wave_order: Sequence[str]) -> Linkage:
    """Link ``rows`` across waves (exact, then one element apart when unique; see the module docstring)."""
    order = {w: i for i, w in enumerate(wave_order)}
    waves = sorted({r.wave for r in rows}, key=lambda w: (order.get(w, len(order)), w))
    result = Linkage()
    people: list[_Person] = []
    for wave in waves:
        in_wave = [r for r in rows if r.wave == wave]
        counts = Counter(rows=len(in_wave))
        earlier = [p for p in people if wave not in p.waves]
        linked: dict[Hashable, _Person] = {}
        ambiguous: set[Hashable] = set()
        shared = Counter(r.code for r in in_wave if r.code is not None)
        coded = [r for r in in_wave if r.code is not None and shared[r.code] == 1]
        ambiguous |= {r.key for r in in_wave if r.code is not None and shared[r.code] > 1}
        by_code: dict[Code, list[_Person]] = {}
        for p in earlier:
            for c in p.codes:
                by_code.setdefault(c, []).append(p)
        # exact pass
        exact = {r.key: _unique(by_code.get(r.code, [])) for r in coded}
        claims = Counter(id(p) for found in exact.values() if len(found) == 1 for p in found)
        for r in coded:
            found = exact[r.key]
            if len(found) == 1 and claims[id(found[0])] == 1:
                linked[r.key] = found[0]
                counts["linked_exact"] += 1
            elif found:
                ambiguous.add(r.key)
        # tolerant pass, among the rows and respondents left over
        taken = {id(p) for p in linked.values()}
        left = [r for r in coded if not exact[r.key]]
        free = [p for p in earlier if id(p) not in taken]
        masked: dict[tuple, list[_Person]] = {}  # a code with one element blanked -> who has it
        for p in free:
            for c in p.codes:
                for i in range(len(c)):
                    masked.setdefault(_mask(c, i), []).append(p)
        near = {r.key: _unique([p for i in range(len(r.code)) for p in masked.get(_mask(r.code, i), [])
                                if any(one_element_apart(r.code, c) for c in p.codes)]) for r in left}
        wanted = Counter(id(p) for found in near.values() for p in found)
        for r in left:
            found = near[r.key]
            if len(found) == 1 and wanted[id(found[0])] == 1:
                linked[r.key] = found[0]
                counts["linked_tolerant"] += 1
            elif found:
                ambiguous.add(r.key)
        counts["ambiguous"] = len(ambiguous)
        for r in in_wave:
            person = linked.get(r.key)
            if person is None:
                if r.code is None:
                    counts["no_code"] += 1
                elif r.key not in ambiguous:
                    counts["unlinked"] += 1
                person = _Person(r.key, set(), set())
                people.append(person)
            if r.code is not None:
                person.codes.add(r.code)
            person.waves.add(wave)
            result.respondent[r.key] = person.key
        result.counts[wave] = {name: int(counts.get(name, 0)) for name in COUNTS}
    return result
