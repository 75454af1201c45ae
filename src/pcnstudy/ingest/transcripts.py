"""Interview transcripts: a plain-text file of speaker turns to the participant's answers.

``read_transcript(data) -> Transcript`` takes a transcript's bytes (decoded by the one
policy of pcnstudy.core.decoding) and gives the participant id from an optional
first line ``Participant ID: ...``, the participant's turns as (line number, text),
and what was wrong with the file: ``problem`` (binary data: the file is not read;
fatal) or ``warning`` (lines that are not UTF-8, read as cp1252; not fatal).

A turn starts with ``Interviewer:``, ``Participant:``, ``Respondent:`` or
``Interviewee:`` (any case); an unmarked line continues the turn before it. Every
turn not the interviewer's is the participant's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pcnstudy.core.decoding import decode

#: The question id interview answers are filed under in the texts table.
INTERVIEW_QUESTION = "interview"
_SPEAKER = re.compile(r"^\s*(interviewer|participant|respondent|interviewee)\s*:\s?(.*)$", re.IGNORECASE)
_TRANSCRIPT_ID = re.compile(r"^\s*(?:participant|respondent)\s+id\s*:\s*(.+?)\s*$", re.IGNORECASE)


@dataclass
class Transcript:
    """One transcript: the participant id it names (or None), their turns, and what was wrong."""

    raw_id: str | None = None
    turns: list[tuple[int, str]] = field(default_factory=list)  # (line number, text), participant only
    problem: str | None = None  # the file cannot be read (fatal)
    warning: str | None = None  # read, with a caveat (not fatal)


def read_transcript(data: bytes) -> Transcript:
    """The participant's turns of a transcript's bytes (see the module docstring)."""
    decoded = decode(data)
    if not decoded.wide and b"\x00" in data:
        return Transcript(problem="binary data, not a text transcript")
    found = Transcript(warning="not UTF-8; read as cp1252" if decoded.fallback else None)
    turns: list[list] = []  # [line number, speaker, text]
    for number, line in enumerate(decoded.text.splitlines(), start=1):
        if not turns and (match := _TRANSCRIPT_ID.match(line)):
            found.raw_id = match.group(1)
            continue
        match = _SPEAKER.match(line)
        if match:
            turns.append([number, match.group(1).lower(), match.group(2).strip()])
        elif turns and line.strip():
            turns[-1][2] = (turns[-1][2] + " " + line.strip()).strip()
    found.turns = [(number, text) for number, speaker, text in turns if speaker != "interviewer"]
    return found
