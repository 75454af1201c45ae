"""Write the survey-export fixtures in this folder (deterministic; run from anywhere).

One small cohort (eight respondents at the end of a programme, the same eight at
baseline) exported the way each survey tool writes it:

- plain_baseline.csv, plain_end.csv: one header row, UTF-8, comma separated
- plain_end_cp1252.csv: the same table as plain_end.csv, saved by Excel in a
  European locale (cp1252, ';' separated, CRLF line ends)
- plain_end_bom.tsv: the same table, UTF-8 with a byte-order mark, tab separated
- plain_end.xlsx: the same table as a workbook (dates as dates, scores as numbers)
- qualtrics.csv: three header rows (ids, question text, ImportId JSON)
- qualtrics_legacy.csv: the older two header rows (V1.. ids, then ResponseID and texts)
- surveymonkey.csv: two header rows, matrix and multi-select spread over columns
- msforms.xlsx: ID, Start time, Completion time, Email, Name, then one column per question
- googleforms.csv: Timestamp, Email Address, questions; grid as "Question [Row]"

Further shapes met in real exports, each a cohort of its own (fourteen respondents,
no participant id unless said; Likert answers as the scale's labels):

- msforms_anonymous.xlsx: an anonymous form: Id, Start time, Completion time, Email
  reading "anonymous" on every row, Name blank, Last modified time, then the questions
- qualtrics_noemail.csv: three header rows, anonymous link: Recipient name, email and
  External Data Reference empty; only ResponseId tells the responses apart
- qualtrics_german.csv: the same from a German-language survey: the metadata's labels in
  German ("Anfangsdatum", "IP-Adresse", "Antwort-ID" ...), the first row's ids and the
  ImportId row in English, the questions in English
- surveymonkey_response.csv: the metadata columns removed, single-answer questions only:
  the second header row reads "Response" over every column; a participant id question
- surveymonkey_openended.csv: metadata first (blank in row 2), "Open-Ended Response" under
  the text questions and "Response" under single answers
- surveymonkey_options.csv: an account in French: "Réponse" and "Réponse ouverte" under
  single answers, the matrix statements and multi-select options as labels
- surveymonkey_blanks_baseline.csv, surveymonkey_blanks_end.csv: two waves; row 2 blank
  except over the matrix statements and multi-select options; a participant id links the
  waves (two respondents of the baseline do not answer at the end)
- googleforms_anonymous.csv: Timestamp then the questions, no id of any kind (two
  responses share a timestamp)

Item wording comes from config/instrument.yml. Free text carries commas, quotes,
line breaks and accented letters (all within cp1252) so readers are exercised.
Usage: python tests/data/exports/make_fixtures.py
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

import yaml

from pcnstudy.simulate.xlsx import stable_xlsx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
INSTRUMENT = yaml.safe_load((ROOT / "config" / "instrument.yml").read_text(encoding="utf-8"))
ITEMS = [(i["id"], i["text"]) for i in INSTRUMENT["items"]]
FEEDBACK = [(f["id"], f["text"]) for f in INSTRUMENT["feedback"]][:3]
LABELS = INSTRUMENT["scale"]["labels"]
VALUED = "What did you value most about the programme?"
DIFFERENT = "What, if anything, have you done differently as a result of the programme?"
PURPOSE = "In your own words, what is the purpose of your primary care network?"
MATRIX = "Please rate how far you agree with each statement."
ATTENDED = "Which parts of the programme did you attend?"
SESSIONS = ["Action learning sets", "Masterclasses", "Coaching, one to one"]
FIXED_TIME = dt.datetime(2021, 7, 1, 12, 0, 0)

PEOPLE = [
    ("P001", "Riverside PCN", "GP", "Clinical director", "zoe.hart@example.nhs.uk", "Zoë Hart"),
    ("P002", "Riverside PCN", "Practice manager", "Operations lead", "sam.okafor@example.nhs.uk", "Sam Okafor"),
    ("P003", "Northfield PCN", "Clinical pharmacist", "Member", "li.chen@example.nhs.uk", "Li Chen"),
    ("P004", "Northfield PCN", "Nurse", "Member", "ros.mcbride@example.nhs.uk", "Ros McBride"),
    ("P005", "Oakwood PCN", "Paramedic", "Member", "dev.shah@example.nhs.uk", "Dev Shah"),
    ("P006", "Oakwood PCN", "Social prescriber", "Member", "amy.jones@example.nhs.uk", "Amy Jones"),
    ("P007", "Oakwood PCN", "GP", "Clinical director", "tom.reid@example.nhs.uk", "Tom Reid"),
    ("P008", "Riverside PCN", "GP", "Member", "ana.silva@example.nhs.uk", "Ana Silva"),
]
VALUED_TEXT = [
    "Protected time away from the practice to think, and the action learning set.",
    'Meeting peers from other practices - "we are all in the same boat".',
    "The coaching sessions.\nThey gave me confidence to speak up in meetings.",
    "Understanding the wider system, the council's role and how partners fit together.",
    "Café-style conversations with colleagues I'd never met; the £ for backfill helped.",
    "",
    "Working with pharmacists, paramedics and social prescribers as one team.",
    "Honest, open discussion; I felt listened to.",
]
DIFFERENT_TEXT = [
    "I now chair our board meetings differently: I ask before I tell.",
    "Set up a monthly MDT huddle across the three practices.",
    "Nothing yet",
    "I contacted the council's housing team about frequent attenders.",
    "More delegation, less firefighting",
    "Started reflective notes after each meeting",
    "",
    "I use the stakeholder map from the masterclass when planning change",
]
PURPOSE_TEXT = [
    "To deliver the DES and share staff between practices.",
    "Not sure yet - it feels like another layer of bureaucracy.",
    "Joining up care for our population with community services.",
    "Working together so small practices survive.",
    "To plan services around the needs of the local population.",
    "Sharing the additional roles.",
    "An opportunity to work at scale with partners.",
    "I don't know; the contract keeps changing.",
]


def scores(seed: int, shift: int) -> list[list[int]]:
    """Return one list of 1-5 ratings per respondent, deterministic in ``seed``."""
    rng = random.Random(seed)
    return [[max(1, min(5, rng.choice([2, 3, 3, 4]) + shift)) for _ in ITEMS] for _ in PEOPLE]


BASELINE = scores(2020, 0)
END = scores(2021, 1)
YESNO = [["Yes" if (r + k) % 4 else "No" for k in range(len(FEEDBACK))] for r in range(len(PEOPLE))]
ATTEND = [[s for k, s in enumerate(SESSIONS) if (r + k) % 3 != 0] for r in range(len(PEOPLE))]


def when(r: int, day: int = 28, month: int = 6) -> dt.datetime:
    return dt.datetime(2021, month, day, 9 + r, 5 * r, 0)


def write_csv(path: Path, rows: list[list], delimiter: str = ",", encoding: str = "utf-8",
              lineterminator: str = "\n") -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buffer.getvalue().encode(encoding))


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> None:
    """Write a workbook whose bytes depend only on ``rows`` (fixed properties and zip times)."""
    path.write_bytes(stable_xlsx(rows, FIXED_TIME, sheet=sheet, creator="pcnstudy fixtures"))


# --------------------------------------------------------------------------- plain


def plain_baseline() -> list[list]:
    header = ["Participant ID", "PCN", "Profession", "Role", "Date completed"] + [t for _, t in ITEMS] + [PURPOSE]
    rows = [header]
    for r, person in enumerate(PEOPLE):
        rows.append(list(person[:4]) + [when(r, 14, 9).strftime("%d/%m/%Y")] + BASELINE[r] + [PURPOSE_TEXT[r]])
    return rows


def plain_end(as_workbook: bool = False) -> list[list]:
    header = (["Participant ID", "PCN", "Profession", "Role", "Date completed"]
              + [f"Q{k}. {t}" for k, (_, t) in enumerate(ITEMS, start=1)]
              + [f"Q{k}. {t}" for k, (_, t) in enumerate(FEEDBACK, start=len(ITEMS) + 1)]
              + [VALUED, DIFFERENT])
    rows = [header]
    for r, person in enumerate(PEOPLE):
        date = when(r).replace(hour=0, minute=0) if as_workbook else when(r).strftime("%d/%m/%Y")
        ratings = END[r] if as_workbook else [str(v) for v in END[r]]
        rows.append(list(person[:4]) + [date] + ratings + YESNO[r] + [VALUED_TEXT[r] or None, DIFFERENT_TEXT[r] or None])
    return rows


# --------------------------------------------------------------------------- Qualtrics

Q_META = [
    ("StartDate", "Start Date", {"ImportId": "startDate", "timeZone": "Europe/London"}),
    ("EndDate", "End Date", {"ImportId": "endDate", "timeZone": "Europe/London"}),
    ("Status", "Response Type", {"ImportId": "status"}),
    ("IPAddress", "IP Address", {"ImportId": "ipAddress"}),
    ("Progress", "Progress", {"ImportId": "progress"}),
    ("Duration (in seconds)", "Duration (in seconds)", {"ImportId": "duration"}),
    ("Finished", "Finished", {"ImportId": "finished"}),
    ("RecordedDate", "Recorded Date", {"ImportId": "recordedDate", "timeZone": "Europe/London"}),
    ("ResponseId", "Response ID", {"ImportId": "_recordId"}),
    ("RecipientLastName", "Recipient Last Name", {"ImportId": "recipientLastName"}),
    ("RecipientFirstName", "Recipient First Name", {"ImportId": "recipientFirstName"}),
    ("RecipientEmail", "Recipient Email", {"ImportId": "recipientEmail"}),
    ("ExternalReference", "External Data Reference", {"ImportId": "externalDataReference"}),
    ("LocationLatitude", "Location Latitude", {"ImportId": "locationLatitude"}),
    ("LocationLongitude", "Location Longitude", {"ImportId": "locationLongitude"}),
    ("DistributionChannel", "Distribution Channel", {"ImportId": "distributionChannel"}),
    ("UserLanguage", "User Language", {"ImportId": "userLanguage"}),
]
PROFESSIONS = ["GP", "Practice manager", "Clinical pharmacist", "Nurse", "Paramedic", "Other (please specify)"]


def qualtrics_columns() -> list[tuple[str, str, dict]]:
    cols = list(Q_META)
    cols.append(("Q1", "Please enter your participant ID", {"ImportId": "QID1_TEXT"}))
    cols.append(("Q2", "Which Primary Care Network do you work in?", {"ImportId": "QID2"}))
    cols.append(("Q3", "What is your profession?", {"ImportId": "QID3"}))
    cols.append(("Q3_6_TEXT", "What is your profession? - Other (please specify) - Text", {"ImportId": "QID3_6_TEXT"}))
    for k, (_, text) in enumerate(ITEMS, start=1):
        cols.append((f"Q4_{k}", f"{MATRIX} - {text}", {"ImportId": f"QID4_{k}"}))
    for k, (_, text) in enumerate(FEEDBACK, start=1):
        cols.append((f"Q5_{k}", f"Thinking about the programme as a whole: - {text}", {"ImportId": f"QID5_{k}"}))
    cols.append(("Q6", VALUED, {"ImportId": "QID6_TEXT"}))
    cols.append(("Q7", DIFFERENT, {"ImportId": "QID7_TEXT"}))
    return cols


def qualtrics_answers(r: int) -> list:
    pid, pcn, prof, _, email, name = PEOPLE[r]
    start = when(r)
    prof_choice, prof_other = (prof, "") if prof in PROFESSIONS else ("Other (please specify)", prof)
    first, _, last = name.partition(" ")
    meta = [start.strftime("%Y-%m-%d %H:%M:%S"), (start + dt.timedelta(minutes=11)).strftime("%Y-%m-%d %H:%M:%S"),
            "IP Address", f"81.2.69.{140 + r}", "100", str(660 + 17 * r), "True", (start + dt.timedelta(minutes=11)).strftime("%Y-%m-%d %H:%M:%S"),
            f"R_3kT9{r:02d}xQaZ7mW{r}", last, first, email, "", "52.63", "-1.13", "email", "EN-GB"]
    return (meta + [pid, pcn, prof_choice, prof_other] + [LABELS[v] for v in END[r]] + YESNO[r]
            + [VALUED_TEXT[r], DIFFERENT_TEXT[r]])


def qualtrics() -> list[list]:
    cols = qualtrics_columns()
    rows = [[c[0] for c in cols], [c[1] for c in cols], [json.dumps(c[2], separators=(",", ":")) for c in cols]]
    rows += [qualtrics_answers(r) for r in range(len(PEOPLE))]
    return rows


def qualtrics_legacy() -> list[list]:
    meta = [("V1", "ResponseID"), ("V2", "ResponseSet"), ("V3", "Name"), ("V4", "ExternalDataReference"),
            ("V5", "EmailAddress"), ("V6", "IPAddress"), ("V7", "Status"), ("V8", "StartDate"),
            ("V9", "EndDate"), ("V10", "Finished")]
    cols = qualtrics_columns()[len(Q_META):]
    rows = [[m[0] for m in meta] + [c[0] for c in cols], [m[1] for m in meta] + [c[1] for c in cols]]
    for r in range(len(PEOPLE)):
        answers = qualtrics_answers(r)
        start = when(r)
        rows.append([f"R_legacy{r:02d}", "Default Response Set", "", "", "", "", "0",
                     start.strftime("%Y-%m-%d %H:%M:%S"), (start + dt.timedelta(minutes=9)).strftime("%Y-%m-%d %H:%M:%S"),
                     "1"] + answers[len(Q_META):])
    return rows


# --------------------------------------------------------------------------- SurveyMonkey


def surveymonkey() -> list[list]:
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
            "First Name", "Last Name", "Custom Data 1"]
    top = meta + ["What is your participant ID?", "Which Primary Care Network do you work in?",
                  "What is your profession?", ""]
    sub = [""] * len(meta) + ["Open-Ended Response", "Response", "Response", "Other (please specify)"]
    top += [MATRIX] + [""] * (len(ITEMS) - 1)
    sub += [t for _, t in ITEMS]
    top += [FEEDBACK[0][1], FEEDBACK[1][1], FEEDBACK[2][1]]
    sub += ["Response"] * 3
    top += [f"{ATTENDED} (select all that apply)"] + [""] * (len(SESSIONS) - 1)
    sub += SESSIONS
    top += [VALUED, DIFFERENT]
    sub += ["Open-Ended Response", "Open-Ended Response"]
    rows = [top, sub]
    for r, (pid, pcn, prof, _, email, name) in enumerate(PEOPLE):
        start = when(r)
        prof_choice, prof_other = (prof, "") if prof in PROFESSIONS else ("Other (please specify)", prof)
        rows.append([str(11439187000 + 731 * r), "404338211", start.strftime("%m/%d/%Y %I:%M:%S %p"),
                     (start + dt.timedelta(minutes=8)).strftime("%m/%d/%Y %I:%M:%S %p"), f"81.2.69.{140 + r}",
                     "", "", "", ""]
                    + [pid, pcn, prof_choice, prof_other] + [LABELS[v] for v in END[r]] + YESNO[r]
                    + [s if s in ATTEND[r] else "" for s in SESSIONS] + [VALUED_TEXT[r], DIFFERENT_TEXT[r]])
    return rows


# --------------------------------------------------------------------------- Microsoft Forms


def msforms() -> list[list]:
    header = (["ID", "Start time", "Completion time", "Email", "Name", "Participant ID",
               "Which Primary Care Network do you work in?", "Profession"]
              + [t for _, t in ITEMS] + [t for _, t in FEEDBACK] + [ATTENDED, VALUED, DIFFERENT])
    rows = [header]
    for r, (pid, pcn, prof, _, email, name) in enumerate(PEOPLE):
        start = when(r)
        rows.append([r + 1, start, start + dt.timedelta(minutes=7, seconds=13 * r), email, name, pid, pcn, prof]
                    + [LABELS[v] for v in END[r]] + YESNO[r]
                    + ["".join(s + ";" for s in ATTEND[r]) or None, VALUED_TEXT[r] or None, DIFFERENT_TEXT[r] or None])
    return rows


# --------------------------------------------------------------------------- Google Forms


def googleforms() -> list[list]:
    header = (["Timestamp", "Email Address", "Participant ID", "Which Primary Care Network do you work in?",
               "What is your profession?"]
              + [f"{MATRIX} [{t}]" for _, t in ITEMS] + [t for _, t in FEEDBACK] + [ATTENDED, VALUED, DIFFERENT])
    rows = [header]
    for r, (pid, pcn, prof, _, email, name) in enumerate(PEOPLE):
        rows.append([when(r).strftime("%d/%m/%Y %H:%M:%S"), email, pid, pcn, prof]
                    + [str(v) for v in END[r]] + YESNO[r]
                    + [", ".join(ATTEND[r]), VALUED_TEXT[r], DIFFERENT_TEXT[r]])
    return rows


# --------------------------------------------------------------------------- further shapes

N_MORE = 14
PCNS = ["Riverside PCN", "Northfield PCN", "Oakwood PCN", "Meadowbank PCN"]
ROLES = ["GP", "Practice manager", "Clinical pharmacist", "Nurse", "Paramedic", "Social prescriber"]
MORE_VALUED = [
    "The action learning set: time to think with peers.",
    "Coaching; it helped me say no to things.",
    "Hearing how other networks share staff.",
    "",
    "Protected time, honestly.",
    "The systems thinking masterclass and the stakeholder map.",
    "Meeting the council's public health team.",
    "Everything - thank you!",
    "Being listened to by people outside my practice.",
    "Less than I hoped; the sessions clashed with clinics.",
    "Practical tools for running MDT meetings.",
    "",
    "Learning about other professions' pressures.",
    "The final presentation day.",
]
MORE_DIFFERENT = [
    "I delegate more to the practice managers.",
    "We now hold a monthly network huddle.",
    "",
    "I ask partners before I decide.",
    "Nothing yet, too busy.",
    "I use the ripple map when services change.",
    "I contacted the community mental health lead.",
    "More reflection after meetings.",
    "",
    "Set up shared rotas with the paramedic team.",
    "I chair our board differently.",
    "Booked regular time with my coach.",
    "We joined the place-based partnership group.",
    "I speak up at the ICB forum.",
]


def more_people(seed: int, n: int = N_MORE, shift: int = 1) -> list[dict]:
    """Fourteen synthetic respondents: PCN, profession, 1-5 ratings, yes/no feedback, texts; seeded."""
    rng = random.Random(seed)
    people = []
    for r in range(n):
        people.append({
            "pid": f"LP{r + 1:03d}",
            "pcn": PCNS[r % len(PCNS)],
            "profession": ROLES[rng.randrange(len(ROLES))],
            "ratings": [max(1, min(5, rng.choice([2, 3, 3, 4]) + shift)) for _ in ITEMS],
            "feedback": ["Yes" if rng.random() < 0.8 else "No" for _ in FEEDBACK],
            "valued": MORE_VALUED[r % len(MORE_VALUED)],
            "different": MORE_DIFFERENT[(r + seed) % len(MORE_DIFFERENT)],
            "when": dt.datetime(2021, 6, 14, 8, 0, 0) + dt.timedelta(hours=5 * r, minutes=7 * r),
        })
    return people


def msforms_anonymous() -> list[list]:
    header = (["Id", "Start time", "Completion time", "Email", "Name", "Last modified time",
               "Which Primary Care Network do you work in?", "What is your profession?"]
              + [t for _, t in ITEMS] + [t for _, t in FEEDBACK] + [VALUED, DIFFERENT])
    rows = [header]
    for r, p in enumerate(more_people(3101)):
        rows.append([r + 1, p["when"], p["when"] + dt.timedelta(minutes=6, seconds=11 * r), "anonymous", None, None,
                     p["pcn"], p["profession"]] + [LABELS[v] for v in p["ratings"]] + p["feedback"]
                    + [p["valued"] or None, p["different"] or None])
    return rows


Q_GERMAN = {
    "StartDate": "Anfangsdatum", "EndDate": "Enddatum", "Status": "Antworttyp", "IPAddress": "IP-Adresse",
    "Progress": "Fortschritt", "Duration (in seconds)": "Dauer (in Sekunden)", "Finished": "Beendet",
    "RecordedDate": "Erfassungsdatum", "ResponseId": "Antwort-ID", "RecipientLastName": "Nachname des Empfängers",
    "RecipientFirstName": "Vorname des Empfängers", "RecipientEmail": "E-Mail-Adresse des Empfängers",
    "ExternalReference": "Externe Datenreferenz", "LocationLatitude": "Breitengrad des Standorts",
    "LocationLongitude": "Längengrad des Standorts", "DistributionChannel": "Verteilungskanal",
    "UserLanguage": "Benutzersprache",
}


def qualtrics_anonymous(german: bool = False) -> list[list]:
    """A Qualtrics export of an anonymous link: no participant id, recipient fields empty."""
    cols = list(Q_META)
    if german:
        cols = [(i, Q_GERMAN[i], imp) for i, _, imp in cols]
    cols.append(("Q2", "Which Primary Care Network do you work in?", {"ImportId": "QID2"}))
    cols.append(("Q3", "What is your profession?", {"ImportId": "QID3"}))
    for k, (_, text) in enumerate(ITEMS, start=1):
        cols.append((f"Q4_{k}", f"{MATRIX} - {text}", {"ImportId": f"QID4_{k}"}))
    for k, (_, text) in enumerate(FEEDBACK, start=1):
        cols.append((f"Q5_{k}", f"Thinking about the programme as a whole: - {text}", {"ImportId": f"QID5_{k}"}))
    cols.append(("Q6", VALUED, {"ImportId": "QID6_TEXT"}))
    cols.append(("Q7", DIFFERENT, {"ImportId": "QID7_TEXT"}))
    rows = [[c[0] for c in cols], [c[1] for c in cols], [json.dumps(c[2], separators=(",", ":")) for c in cols]]
    for r, p in enumerate(more_people(3202 if german else 3201)):
        start, end = p["when"], p["when"] + dt.timedelta(minutes=9, seconds=23 * r)
        stamp = "%Y-%m-%d %H:%M:%S"
        meta = [start.strftime(stamp), end.strftime(stamp), "IP Address", f"81.2.69.{20 + r}", "100",
                str(int((end - start).total_seconds())), "True", end.strftime(stamp), f"R_2x{r:02d}Lm8QpZr{r % 10}Tw",
                "", "", "", "", "52.63", "-1.13", "anonymous", "DE" if german else "EN-GB"]
        rows.append(meta + [p["pcn"], p["profession"]] + [LABELS[v] for v in p["ratings"]] + p["feedback"]
                    + [p["valued"], p["different"]])
    return rows


SM_META = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
           "First Name", "Last Name", "Custom Data 1"]


def _sm_meta(r: int, when: dt.datetime, base: int) -> list[str]:
    fmt = "%m/%d/%Y %I:%M:%S %p"
    return [str(base + 977 * r), "404338977", when.strftime(fmt), (when + dt.timedelta(minutes=12)).strftime(fmt),
            f"81.2.69.{60 + r}", "", "", "", ""]


def surveymonkey_response() -> list[list]:
    """Metadata removed, single answers only: row 2 is "Response" over every column."""
    top = (["What is your participant ID?", "Which Primary Care Network do you work in?", "What is your profession?"]
           + [t for _, t in ITEMS] + [t for _, t in FEEDBACK] + [VALUED, DIFFERENT])
    rows = [top, ["Response"] * len(top)]
    for p in more_people(3301):
        rows.append([p["pid"], p["pcn"], p["profession"]] + [LABELS[v] for v in p["ratings"]] + p["feedback"]
                    + [p["valued"], p["different"]])
    return rows


def surveymonkey_openended() -> list[list]:
    top = SM_META + ["Which Primary Care Network do you work in?", "What is your profession?"]
    sub = [""] * len(SM_META) + ["Response", "Response"]
    top += [t for _, t in ITEMS] + [t for _, t in FEEDBACK] + [VALUED, DIFFERENT]
    sub += ["Response"] * (len(ITEMS) + len(FEEDBACK)) + ["Open-Ended Response", "Open-Ended Response"]
    rows = [top, sub]
    for r, p in enumerate(more_people(3401)):
        rows.append(_sm_meta(r, p["when"], 11502211000) + [p["pcn"], p["profession"]]
                    + [LABELS[v] for v in p["ratings"]] + p["feedback"] + [p["valued"], p["different"]])
    return rows


def _sm_matrix(single: str, opened: str, with_id: bool) -> tuple[list[str], list[str]]:
    top = SM_META + (["What is your participant ID?"] if with_id else [])
    sub = [""] * len(SM_META) + ([opened] if with_id else [])
    top += ["Which Primary Care Network do you work in?", "What is your profession?"]
    sub += [single, single]
    top += [MATRIX] + [""] * (len(ITEMS) - 1)
    sub += [t for _, t in ITEMS]
    top += ["Thinking about the programme as a whole:"] + [""] * (len(FEEDBACK) - 1)
    sub += [t for _, t in FEEDBACK]
    top += [f"{ATTENDED} (select all that apply)"] + [""] * (len(SESSIONS) - 1)
    sub += SESSIONS
    top += [VALUED, DIFFERENT]
    sub += [opened, opened]
    return top, sub


def _sm_matrix_row(r: int, p: dict, base: int, with_id: bool) -> list[str]:
    attended = [s for k, s in enumerate(SESSIONS) if (r + k) % 3 != 1]
    return (_sm_meta(r, p["when"], base) + ([p["pid"]] if with_id else []) + [p["pcn"], p["profession"]]
            + [LABELS[v] for v in p["ratings"]] + p["feedback"] + [s if s in attended else "" for s in SESSIONS]
            + [p["valued"], p["different"]])


def surveymonkey_options() -> list[list]:
    """A French-language account: "Réponse" / "Réponse ouverte"; matrix statements and options as labels."""
    top, sub = _sm_matrix("Réponse", "Réponse ouverte", with_id=False)
    rows = [top, sub]
    rows += [_sm_matrix_row(r, p, 11502399000, False) for r, p in enumerate(more_people(3501))]
    return rows


def surveymonkey_blanks(wave: str) -> list[list]:
    """Row 2 blank except over matrix statements and options; two waves linked by a participant id."""
    top, sub = _sm_matrix("", "", with_id=True)
    rows = [top, sub]
    people = more_people(3601, shift=0) if wave == "baseline" else more_people(3602, shift=1)[:N_MORE - 2]
    base = 11400000000 if wave == "baseline" else 11600000000
    for r, p in enumerate(people):
        if wave == "baseline":
            p["when"] -= dt.timedelta(days=150)
        rows.append(_sm_matrix_row(r, p, base, True))
    return rows


def googleforms_anonymous() -> list[list]:
    header = (["Timestamp", "Which Primary Care Network do you work in?", "What is your profession?"]
              + [f"{MATRIX} [{t}]" for _, t in ITEMS] + [t for _, t in FEEDBACK] + [VALUED, DIFFERENT])
    rows = [header]
    for r, p in enumerate(more_people(3701)):
        when = p["when"] if r != 5 else more_people(3701)[4]["when"]  # two responses in the same second
        rows.append([when.strftime("%d/%m/%Y %H:%M:%S"), p["pcn"], p["profession"]] + [str(v) for v in p["ratings"]]
                    + p["feedback"] + [p["valued"], p["different"]])
    return rows


def main() -> None:
    write_csv(HERE / "plain_baseline.csv", plain_baseline())
    write_csv(HERE / "plain_end.csv", plain_end())
    write_csv(HERE / "plain_end_cp1252.csv", plain_end(), delimiter=";", encoding="cp1252", lineterminator="\r\n")
    write_csv(HERE / "plain_end_bom.tsv", plain_end(), delimiter="\t", encoding="utf-8-sig")
    write_xlsx(HERE / "plain_end.xlsx", plain_end(as_workbook=True))
    write_csv(HERE / "qualtrics.csv", qualtrics(), encoding="utf-8-sig")
    write_csv(HERE / "qualtrics_legacy.csv", qualtrics_legacy())
    write_csv(HERE / "surveymonkey.csv", surveymonkey())
    write_xlsx(HERE / "msforms.xlsx", msforms(), sheet="Form1")
    write_csv(HERE / "googleforms.csv", googleforms())
    write_xlsx(HERE / "msforms_anonymous.xlsx", msforms_anonymous(), sheet="Form1")
    write_csv(HERE / "qualtrics_noemail.csv", qualtrics_anonymous(), encoding="utf-8-sig")
    write_csv(HERE / "qualtrics_german.csv", qualtrics_anonymous(german=True), encoding="utf-8-sig")
    write_csv(HERE / "surveymonkey_response.csv", surveymonkey_response())
    write_csv(HERE / "surveymonkey_openended.csv", surveymonkey_openended())
    write_csv(HERE / "surveymonkey_options.csv", surveymonkey_options())
    write_csv(HERE / "surveymonkey_blanks_baseline.csv", surveymonkey_blanks("baseline"))
    write_csv(HERE / "surveymonkey_blanks_end.csv", surveymonkey_blanks("end"))
    write_csv(HERE / "googleforms_anonymous.csv", googleforms_anonymous())


if __name__ == "__main__":
    main()
