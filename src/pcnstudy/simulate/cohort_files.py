"""One cohort's folder of raw exports: cohort.yml, one export per wave, interview transcripts.

Takes a cohort spec, its random stream, the phrase bank, the instrument and a fixed
time stamp; writes ``<out>/<cohort>/`` (cohort.yml, ``<wave>.csv`` or ``.xlsx``, a
then-test export where the cohort has one, ``interviews/*.txt``) and gives the
cohort's truth (sizes, per-domain truth, realised sample figures, feedback counts; the
design where the spec gives one) with its free-text records (themes per response,
planted personal data). A spec's ``design`` (e.g. ``anonymous``) is written into
cohort.yml; ``layout: googleforms`` writes a Google Forms export (Timestamp first, no id
unless the spec's columns name one; ``header.grid`` writes items as "Question [Statement]").
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from pcnstudy.simulate.config import text_settings, wave_names
from pcnstudy.simulate.export_cells import (
    TextRecorder,
    export_headers,
    feedback_values,
    likert_cell,
    respondent_ids,
    response_dates,
    seeded_faker,
    unique_names,
    write_csv,
    write_xlsx,
    yes_no_cell,
)
from pcnstudy.simulate.ratings import ratings_long, simulate_roster, simulate_wide
from pcnstudy.simulate.text import REGISTER, ascii_letters, pick, write_answer
from pcnstudy.simulate.truth import sample_effects, true_effects


def write_interviews(spec, rng, phrases, faker, names, folder: Path, recorder: TextRecorder) -> list[str]:
    """Write the cohort's interview transcripts; return their file names."""
    conf = spec["interviews"]
    settings = text_settings(spec, "interview", {k: v for k, v in conf.items() if k in ("n_themes", "pii", "typo")})
    settings["typo"] = float(conf.get("typo", 0.02))
    prompts = phrases["interviewer"]
    wave = conf["wave"]
    written = []
    (folder / conf.get("folder", "interviews")).mkdir(parents=True, exist_ok=True)
    for k in range(int(conf["n"])):
        stem = f"interview_{k + 1:02d}"
        rel = f"{conf.get('folder', 'interviews')}/{stem}.txt"
        turns = int(rng.integers(conf["turns"][0], conf["turns"][1] + 1))
        order = [prompts["prompts"][int(i)] for i in rng.permutation(len(prompts["prompts"]))]
        lines = []
        last_was_prompt = False
        for turn in range(1, turns + 1):
            if turn == 1:
                question = pick(rng, prompts["opening"])
            elif turn == turns:
                question = pick(rng, prompts["closing"])
            elif (last_was_prompt and rng.random() < 0.3) or not order:
                question = pick(rng, prompts["followups"])
                last_was_prompt = False
            else:
                question = order.pop(0)
                last_was_prompt = True
            if turn == 1:
                answer = pick(rng, phrases["interviewee"]["opening"]).format(
                    k=int(rng.integers(3, 9)), pop=f"{int(rng.integers(30, 70)) * 1000:,}", s=int(rng.integers(4, 8))
                )
                themes, pii = [], []
            elif turn == turns and rng.random() < 0.6:
                answer, themes, pii = pick(rng, phrases["interviewee"]["closing"]), [], []
            else:
                answer, themes, pii = write_answer(
                    rng, weights=conf["themes"], register="view", settings=settings,
                    phrases=phrases, faker=faker, names=names,
                )
            lines += [f"Interviewer: {question}", "", f"Participant: {answer}", ""]
            recorder.add(f"{recorder.cohort}-{wave}-{stem}-{turn}", wave, rel, turn, "interview", "Participant", themes, pii)
        (folder / rel).write_text("\n".join(lines), encoding="utf-8", newline="\n")
        written.append(rel)
    return written


def simulate_cohort(
    spec: dict[str, Any],
    rng: np.random.Generator,
    out: Path,
    phrases: dict[str, Any],
    instrument: dict[str, Any],
    stamp: dt.datetime,
) -> dict[str, Any]:
    """Write one cohort's folder (cohort.yml and exports); return its truth and text records."""
    cohort = spec["cohort"]
    folder = Path(out) / cohort
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    waves = wave_names(spec)
    roster = simulate_roster(spec, rng)
    wide = simulate_wide(spec, rng, instrument, roster)
    faker = seeded_faker(rng)
    taken: set[str] = set()
    roster["name"] = unique_names(faker, len(roster), taken)
    staff = unique_names(faker, int(spec.get("n_staff", 2)), taken)
    names = sorted(roster["name"].tolist() + staff)
    roster["id"] = respondent_ids(spec, roster["respondent"].to_numpy(), roster["name"].tolist())
    email_local = [f"{ascii_letters(n.split(' ', 1)[0])}.{ascii_letters(n.split(' ', 1)[1])}" for n in roster["name"]]
    roster["email"] = [f"{e}@nhs.net" for e in email_local]
    headers = export_headers(spec, instrument)
    columns = spec.get("columns") or {}
    labels = {int(k): v for k, v in instrument["scale"]["labels"].items()}
    recorder = TextRecorder(cohort)
    fmt = spec.get("format", "csv")
    encoding = spec.get("encoding", "utf-8")
    date_format = spec.get("date_format", "%Y-%m-%d")
    files: list[dict[str, Any]] = []
    feedback_truth: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    id_cols = [r for r in ("respondent_id", "name", "email", "pcn", "profession", "role", "group", "date") if r in columns]
    layout = spec.get("layout", "plain")
    if layout == "googleforms":  # Google Forms writes its Timestamp first
        id_cols = ["date"] + [r for r in id_cols if r != "date"]
    then = spec.get("then")
    then_rows: list[list[str | None]] = []

    def id_cells(person, wave: str, when: dt.datetime) -> list[str | None]:
        values = {
            "respondent_id": person["id"], "name": person["name"], "email": person["email"], "pcn": person["pcn"],
            "profession": person["profession"], "role": person["role"], "group": person[f"group_{wave}"],
            "date": when.strftime(date_format),
        }
        return [values[r] for r in id_cols]

    for wave in waves:
        wspec = spec["waves"][wave]
        people = roster[roster[f"present_{wave}"]].reset_index(drop=True)
        when = response_dates(rng, wspec["dates"], len(people))
        numbers = people["respondent"].to_numpy()
        order = sorted(range(len(people)), key=lambda i: (when[i], numbers[i]))
        people = people.loc[order].reset_index(drop=True)
        records = people.to_dict("records")
        when = [when[i] for i in order]
        sizes[wave] = len(people)
        header = [columns[r] for r in id_cols]
        body: list[list[str | None]] = [id_cells(records[i], wave, when[i]) for i in range(len(people))]
        item_ids = [it["id"] for it in instrument["items"]]
        if wspec.get("items"):
            scores = wide[wave].loc[people["respondent"].to_numpy(), item_ids].to_numpy(dtype=float)
            header += [headers[("item", i)] for i in item_ids]
            for i in range(len(people)):
                body[i] += [likert_cell(rng, scores[i, j], spec, labels) for j in range(len(item_ids))]
        fb = wspec.get("feedback") or {}
        fb_ids = [f["id"] for f in instrument["feedback"] if f["id"] in fb]
        for fid in fb_ids:
            yes = feedback_values(rng, fb[fid], len(people))
            header.append(headers[("feedback", fid)])
            for i in range(len(people)):
                body[i].append(yes_no_cell(rng, bool(yes[i]), spec))
            feedback_truth.setdefault(wave, {})[fid] = {**fb[fid], "n": len(people), "k_yes": int(yes.sum())}
        filename = f"{wave}.{fmt}"
        questions = [q["id"] for q in instrument["questions"] if q["id"] in (wspec.get("text") or [])]
        for question in questions:
            qspec = (spec.get("text") or {}).get(question) or {}
            settings = text_settings(spec, question)
            head = headers[("text", question)]
            header.append(head)
            for i in range(len(people)):
                if rng.random() < float(settings["missing"]):
                    markers = phrases.get("missing_markers") or []
                    marked = markers and rng.random() < float(settings.get("missing_marker", 0.0))
                    body[i].append(pick(rng, markers) if marked else None)
                    continue
                text, themes, pii = write_answer(
                    rng, weights=qspec.get("themes") or {}, register=REGISTER[question], settings=settings,
                    phrases=phrases, faker=faker, names=names,
                )
                body[i].append(text)
                row = i + 2
                recorder.add(f"{cohort}-{wave}-{row}-{question}", wave, filename, row, question, head, themes, pii)
        if fmt == "xlsx":
            write_xlsx(folder / filename, header, body, stamp)
        else:
            write_csv(folder / filename, header, body, encoding)
        files.append({"path": filename, "wave": wave, "format": fmt, "layout": layout})
        if then and then["with"] == wave:
            scores = wide[then["wave"]].loc[people["respondent"].to_numpy(), item_ids].to_numpy(dtype=float)
            then_header = [columns[r] for r in id_cols] + [headers[("item", i)] for i in item_ids]
            for i in range(len(people)):
                then_rows.append(
                    id_cells(records[i], wave, when[i])
                    + [likert_cell(rng, scores[i, j], spec, labels) for j in range(len(item_ids))]
                )
            then_path = then.get("path", f"{then['wave']}.{fmt}")
            if fmt == "xlsx":
                write_xlsx(folder / then_path, then_header, then_rows, stamp)
            else:
                write_csv(folder / then_path, then_header, then_rows, encoding)
            files.append({"path": then_path, "wave": then["wave"], "format": fmt, "layout": "plain"})
            sizes[then["wave"]] = len(then_rows)
    if spec.get("interviews"):
        written = write_interviews(spec, rng, phrases, faker, names, folder, recorder)
        files.append({"path": f"{spec['interviews'].get('folder', 'interviews')}/", "wave": spec["interviews"]["wave"], "format": "text"})
        sizes["interviews"] = len(written)

    mapping: dict[str, Any] = {r: columns[r] for r in id_cols}
    item_map = {headers[k]: k[1] for k in headers if k[0] == "item"}
    fb_map = {headers[k]: k[1] for k in headers if k[0] == "feedback"}
    text_map = {headers[k]: k[1] for k in headers if k[0] == "text"}
    if item_map:
        mapping["items"] = item_map
    if fb_map:
        mapping["feedback"] = fb_map
    if text_map:
        mapping["text"] = text_map
    meta = {
        "cohort": cohort,
        "programme": spec.get("programme", ""),
        "region": spec.get("region", ""),
        "n_pcns": len(spec["pcns"]),
        "start": spec.get("start"),
        "end": spec.get("end"),
        "waves": waves,
        "retrospective_waves": [then["wave"]] if then else [],
        "instrument": int(spec.get("instrument", instrument.get("version", 1))),
        "demo": bool(spec.get("demo", True)),  # simulated: the public demo pseudonym key is fine
        **({"design": spec["design"]} if spec.get("design") else {}),  # absent = paired
        "files": files,
        "columns": mapping,
        "names": names,
    }
    text = "# Simulated twin: written by `pcnstudy simulate` (config/simulation.yml). Do not edit.\n"
    text += yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    (folder / "cohort.yml").write_text(text, encoding="utf-8", newline="\n")

    truth: dict[str, Any] = {"sizes": sizes}
    if spec.get("design"):
        truth["design"] = spec["design"]
    if wide:
        truth["domains"] = true_effects(spec, instrument)
        long = ratings_long(spec, roster, wide, instrument)
        order_waves = [w for w in waves if spec["waves"][w].get("items")] + ([then["wave"]] if then else [])
        truth["sample"] = sample_effects(long, order_waves)
    if feedback_truth:
        truth["feedback"] = feedback_truth
    return {"truth": truth, "themes": recorder.themes, "pii": recorder.pii}
