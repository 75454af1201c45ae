"""Write the anonymous-design fixtures (cohort folders) and their known truth.

- ``sgic_cohort/``: two waves of a Google Forms questionnaire without ids whose first
  questions make a self-generated identification code (``design: self_code``, three
  code columns: first two letters of the mother's first name, day of birth, last digit
  of the phone number). The end wave holds, by construction: exact repeats of baseline
  codes, codes with one element mistyped whose one-apart neighbour is unique, a typo
  one element from two baseline codes, a code given twice in the wave, a newcomer, and
  a row without a code. ``expected.json`` holds the linking counts per wave and, per
  end-wave row, the baseline row it must be linked to (or none).
- ``gforms_feedback/``: one wave of end-of-programme feedback (Timestamp, then the
  questions; no id of any kind, and two responses share a timestamp):
  ``design: anonymous``.

Item wording comes from config/instrument.yml. Usage:
``python tests/data/anonymous/make_anonymous.py``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
INSTRUMENT = yaml.safe_load((ROOT / "config" / "instrument.yml").read_text(encoding="utf-8"))
ITEMS = [(i["id"], i["text"]) for i in INSTRUMENT["items"]][:4]
FEEDBACK = [(f["id"], f["text"]) for f in INSTRUMENT["feedback"]]
GRID = "Please rate each statement."
VALUED = "What did you value most about the programme?"
CODE = ["First two letters of your mother's first name", "Day of the month you were born",
        "Last digit of your phone number"]

#: Baseline codes (mother's first name letters, day of birth, phone digit), row order.
BASELINE = [("Ma", "14", "7"), ("Jo", "3", "2"), ("El", "27", "9"), ("Sa", "8", "1"), ("Ro", "19", "5"),
            ("An", "30", "0"), ("Pa", "11", "4"), ("Li", "5", "6"), ("Su", "22", "3"), ("Ma", "14", "8"),
            ("Ka", "2", "2"), ("Be", "16", "7")]
#: End-wave rows: (code, the baseline row index it must link to or None, how).
END = [
    (("Ma", "14", "7"), None, "ambiguous"),   # exact, but also written by another end row: shared
    (("jo", "3", "2"), 1, "exact"),           # case differs only: exact after normalisation
    (("El", "27", "9"), 2, "exact"),
    ((" Sa ", "8", "1"), 3, "exact"),
    (("Ro", "19", "5"), 4, "exact"),
    (("An", "31", "0"), 5, "tolerant"),       # day of birth mistyped
    (("Pa", "11", "9"), 6, "tolerant"),       # phone digit mistyped
    (("Li", "5", "6"), 7, "exact"),
    (("Ma", "14", "7"), None, "ambiguous"),   # the same code as the first end row
    (("Ma", "14", "3"), None, "ambiguous"),   # one element from two baseline codes (Ma-14-7, Ma-14-8)
    (("Zo", "9", "9"), None, "unlinked"),     # a newcomer
    (("", "", ""), None, "no_code"),          # left the code questions blank
    (("Ka", "2", "2"), 10, "exact"),
]
EXPECTED_COUNTS = {
    "baseline": {"rows": 12, "linked_exact": 0, "linked_tolerant": 0, "ambiguous": 0, "unlinked": 12, "no_code": 0},
    "end": {"rows": 13, "linked_exact": 6, "linked_tolerant": 2, "ambiguous": 3, "unlinked": 1, "no_code": 1},
}
PCNS = ["Riverside PCN", "Northfield PCN", "Oakwood PCN"]
TEXTS = ["Protected time to think with peers.", "Meeting the council's team.", "",
         "Action learning: honest, open discussion.", "The coaching.", "Understanding the wider system."]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def sgic_rows(wave: str) -> list[list[str]]:
    header = ["Timestamp", *CODE, "Which PCN do you work in?"] + [f"{GRID} [{t}]" for _, t in ITEMS]
    if wave == "end":
        header += [t for _, t in FEEDBACK[:2]] + [VALUED]
    rows = [header]
    codes = BASELINE if wave == "baseline" else [c for c, _, _ in END]
    day = "13/09/2021" if wave == "baseline" else "20/06/2022"
    for k, code in enumerate(codes):
        scores = [str(1 + (k + j + (2 if wave == "end" else 0)) % 5) for j in range(len(ITEMS))]
        row = [f"{day} {9 + k // 4:02d}:{(k * 7) % 60:02d}:00", *code, PCNS[k % 3], *scores]
        if wave == "end":
            row += ["Yes" if k % 4 else "No", "Yes", TEXTS[k % len(TEXTS)]]
        rows.append(row)
    return rows


def sgic_yml() -> str:
    items = "\n".join(f"    \"{GRID} [{t}]\": {i}" for i, t in ITEMS)
    feedback = "\n".join(f"    {t}: {i}" for i, t in FEEDBACK[:2])
    code = "\n".join(f"  - \"{c}\"" for c in CODE)
    return f"""# Fixture: anonymous pre/post design linked by a self-generated code (tests/data/anonymous)
cohort: sgic_cohort
programme: Fixture programme with self-generated codes
waves: [baseline, end]
demo: true
design: self_code
files:
- path: baseline.csv
  wave: baseline
  layout: googleforms
- path: end.csv
  wave: end
  layout: googleforms
columns:
  date: Timestamp
  pcn: Which PCN do you work in?
  self_code:
{code}
  items:
{items}
  feedback:
{feedback}
  text:
    {VALUED}: valued_most
"""


def gforms_rows() -> list[list[str]]:
    header = ["Timestamp"] + [t for _, t in FEEDBACK[:4]] + [VALUED]
    rows = [header]
    for k in range(9):
        stamp = f"28/02/2020 {10 + k // 3:02d}:{(k % 3) * 20:02d}:00" if k != 4 else "28/02/2020 11:00:00"
        rows.append([stamp] + ["Yes" if (k + j) % 5 else "No" for j in range(4)] + [TEXTS[k % len(TEXTS)]])
    return rows


def gforms_yml() -> str:
    feedback = "\n".join(f"    {t}: {i}" for i, t in FEEDBACK[:4])
    return f"""# Fixture: single-wave anonymous end-of-programme feedback from Google Forms (tests/data/anonymous)
cohort: gforms_feedback
programme: Fixture action learning sets, anonymous feedback
waves: [end]
demo: true
design: anonymous
files:
- path: feedback.csv
  wave: end
columns:
  date: Timestamp
  feedback:
{feedback}
  text:
    {VALUED}: valued_most
"""


def main() -> None:
    sgic = HERE / "sgic_cohort"
    sgic.mkdir(exist_ok=True)
    write_csv(sgic / "baseline.csv", sgic_rows("baseline"))
    write_csv(sgic / "end.csv", sgic_rows("end"))
    (sgic / "cohort.yml").write_text(sgic_yml(), encoding="utf-8", newline="\n")
    links = {str(k + 2): (None if target is None else target + 2) for k, (_c, target, _how) in enumerate(END)}
    expected = {"linkage": EXPECTED_COUNTS, "end_row_links_to_baseline_row": links,
                "codes": sorted({"".join(e.strip() for e in c) for c in BASELINE + [c for c, _, _ in END] if "".join(c).strip()})}
    (sgic / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8", newline="\n")
    feedback = HERE / "gforms_feedback"
    feedback.mkdir(exist_ok=True)
    write_csv(feedback / "feedback.csv", gforms_rows())
    (feedback / "cohort.yml").write_text(gforms_yml(), encoding="utf-8", newline="\n")


if __name__ == "__main__":
    main()
