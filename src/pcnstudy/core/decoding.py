"""Decode the bytes of a user-supplied text file with one encoding policy.

Every text file a user hands the project (survey exports read by ingest, interview
transcripts, the texts, codes and codebooks of the themes and scores commands) is
decoded here, so that one file reads the same way whichever command opens it:

1. a byte-order mark names the encoding: UTF-8, UTF-32 (LE/BE) or UTF-16 (LE/BE);
2. without one, bytes with NULs in their first 64 kB that look like UTF-16 text
   (``utf16_without_bom``) are UTF-16;
3. otherwise each line is UTF-8, else ``FALLBACK`` (Windows-1252, what Excel writes
   as "CSV" on Windows). Bytes that are neither become U+FFFD and their line is
   listed as broken; a damaged UTF-16/32 file's undecodable lines are listed too.

``decode(data) -> Decoded`` gives the lines (with their endings), the encoding's
name (``utf-8``, ``utf-8-sig``, ``utf-16``, ``utf-16-le``, ``utf-16-be``,
``utf-32``, ``cp1252`` or ``mixed (utf-8, cp1252)``) and the 1-based line numbers
read with the fallback and those still broken. What a reader does about a broken
line (report it, refuse the file) is the reader's decision.

``sniff_delimiter(line)`` gives the separator of a delimited header line: the most
frequent of ``,`` ``;`` tab ``|`` outside quotes (comma on ties or when none is
present). Nothing here knows about CSV records, headers or survey layouts.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Byte-order marks and the codec each names (UTF-32-LE's mark starts with UTF-16-LE's: longest first).
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
#: The encoding a line that is not UTF-8 is read in.
FALLBACK = "cp1252"
#: How much of a file is looked at for NUL bytes (BOM-less UTF-16, binary content).
HEAD_BYTES = 65536
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class Decoded:
    """A text file's lines (with their endings), its encoding, and the lines that needed care."""

    lines: list[str]
    encoding: str
    fallback: list[int]  # 1-based lines read with FALLBACK
    broken: list[int]  # 1-based lines holding U+FFFD for bytes that could not be decoded

    @property
    def text(self) -> str:
        return "".join(self.lines)

    @property
    def wide(self) -> bool:
        """True for UTF-16/32 text (decoded whole, never line by line)."""
        return self.encoding.startswith(("utf-16", "utf-32"))


def utf16_without_bom(data: bytes) -> str | None:
    """Return 'utf-16-le' or 'utf-16-be' when BOM-less bytes look like UTF-16 text, else None.

    Text that is mostly Latin script in UTF-16 has a NUL in every other byte: the odd
    bytes (little-endian) or the even bytes (big-endian).
    """
    head = data[:HEAD_BYTES]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def wide_codec(data: bytes) -> str | None:
    """The UTF-16/32 codec of the bytes (from a byte-order mark, or BOM-less UTF-16), else None."""
    for bom, codec in BOMS[1:]:
        if data.startswith(bom):
            return codec
    if b"\x00" in data[:HEAD_BYTES]:
        return utf16_without_bom(data)
    return None


def _decode_wide(data: bytes, codec: str) -> Decoded:
    if codec in ("utf-16-le", "utf-16-be"):
        data = data[: len(data) // 2 * 2]  # a dangling last byte of BOM-less UTF-16
    try:
        text = data.decode(codec)
        broken: list[int] = []
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        broken = [n for n, line in enumerate(text.splitlines(), start=1) if "\ufffd" in line]
    return Decoded(text.splitlines(keepends=True), codec, [], broken)


def decode(data: bytes) -> Decoded:
    """Decode a text file's bytes by the module's policy (BOM, BOM-less UTF-16, UTF-8 else cp1252 per line)."""
    codec = wide_codec(data)
    if codec is not None:
        return _decode_wide(data, codec)
    bom = data.startswith(BOMS[0][0])
    if bom:
        data = data[len(BOMS[0][0]):]
    lines: list[str] = []
    fallback: list[int] = []
    broken: list[int] = []
    utf8_non_ascii = False
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            line = raw.decode("utf-8")
            if not raw.isascii():
                utf8_non_ascii = True
        except UnicodeDecodeError:
            try:
                line = raw.decode(FALLBACK)
            except UnicodeDecodeError:
                line = raw.decode(FALLBACK, errors="replace")
                broken.append(number)
            fallback.append(number)
        lines.append(line)
    if not fallback:
        encoding = "utf-8-sig" if bom else "utf-8"
    elif utf8_non_ascii or bom:
        encoding = f"mixed (utf-8, {FALLBACK})"
    else:
        encoding = FALLBACK
    return Decoded(lines, encoding, fallback, broken)


def decode_head(data: bytes, size: int = 4096) -> str:
    """The first ``size`` bytes as text by the same policy, leniently (for sniffing what a file is)."""
    head = data[:size]
    codec = wide_codec(head)
    if codec is not None:
        if codec in ("utf-16-le", "utf-16-be"):
            head = head[: len(head) // 2 * 2]
        return head.decode(codec, errors="replace").lstrip("\ufeff")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff_delimiter(line: str) -> str:
    """Return the separator of a delimited header line: the most frequent of , ; tab | outside quotes."""
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","
