"""Stable pseudonyms for respondent ids: HMAC-SHA256 under a key kept outside the repo.

Takes a raw respondent id as an export holds it and gives ``r_`` + the first 12 hex
digits of HMAC-SHA256(key, normalised id), where the id is normalised by stripping
surrounding whitespace and lower-casing (so " SE1-017" and "se1-017" are one person).

The key comes from, in order:

1. the environment variable named by params.yaml ``ingest.key_env``
   (default ``PCNSTUDY_PSEUDONYM_KEY``), as text;
2. the file named by ``ingest.key_file`` (default ``~/.config/pcnstudy/pseudonym.key``,
   outside the repository), its bytes with surrounding whitespace removed;
3. otherwise the documented public demo key ``DEMO_KEY``. It is not secret: anyone can
   recompute the pseudonyms from raw ids with it. It is meant only for the simulated
   demonstration study (cohorts whose cohort.yml says ``demo: true``): ingest of any
   other cohort with it stops (``refuse_demo_key`` raises ``DemoKeyError``, one line
   saying how to make a key).

``create_key_file(path, force, root)`` writes a new random key (``secrets.token_hex``,
256 bits) to a file outside the project repository, readable by its owner only (file
0600, a directory it creates 0700), never over an existing key unless ``force``;
``key_command`` is ``pcnstudy key``: it prints where the key went, never the key. A
``PseudonymKey`` never shows its key in its repr, so no notebook or log line prints it.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pcnstudy.core import paths
from pcnstudy.core.params import load_params

#: The public demonstration key. Documented, NOT secret: for the simulated twin only.
DEMO_KEY = b"pcnstudy-public-demo-key-not-secret"
DEFAULT_KEY_ENV = "PCNSTUDY_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = "~/.config/pcnstudy/pseudonym.key"
PREFIX = "r_"
HEX_DIGITS = 12
KEY_BYTES = 32  # 256 bits, written as 64 hex digits
#: How to make a key, as every refusal says it.
MAKE_A_KEY = (f"run `pcnstudy key` (writes a new key to {DEFAULT_KEY_FILE}) or set {DEFAULT_KEY_ENV}, "
              "then run again (docs/adapting.md, \"Make a pseudonymisation key\")")


class DemoKeyError(ValueError):
    """The public demo key would pseudonymise a cohort that is not the demonstration study."""


class KeyFileError(ValueError):
    """``create_key_file`` refused: the path is inside the repository, or a key is already there."""


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key and where it came from ('env', 'file', 'demo' or 'argument').

    The key is left out of the repr, so displaying the object never shows it."""

    key: bytes = field(repr=False)
    source: str

    @property
    def is_demo(self) -> bool:
        return self.key == DEMO_KEY


def normalise_id(raw_id: Any) -> str:
    """Normalise a raw respondent id: text, surrounding whitespace removed, lower case.

    Whole numbers written as floats by spreadsheets ("17.0") become "17".
    """
    text = str(raw_id).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text.casefold()


def pseudonymise(raw_id: Any, key: bytes) -> str:
    """Return ``r_`` + the first 12 hex digits of HMAC-SHA256(key, normalised id)."""
    if not key:
        raise ValueError("the pseudonymisation key is empty")
    digest = hmac.new(key, normalise_id(raw_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_DIGITS]


def resolve_key(ingest_params: dict | None = None, environ: dict | None = None) -> PseudonymKey:
    """Find the key: env var ``ingest.key_env``, else file ``ingest.key_file``, else the demo key."""
    ingest_params = ingest_params or {}
    environ = os.environ if environ is None else environ
    env_name = ingest_params.get("key_env") or DEFAULT_KEY_ENV
    value = environ.get(env_name)
    if value and value.strip():
        return PseudonymKey(value.strip().encode("utf-8"), "env")
    key_file = ingest_params.get("key_file") or DEFAULT_KEY_FILE
    path = Path(os.path.expanduser(str(key_file)))
    if path.is_file():
        data = path.read_bytes().strip()
        if data:
            return PseudonymKey(data, "file")
    return PseudonymKey(DEMO_KEY, "demo")


def refuse_demo_key(key: PseudonymKey, demo_cohorts: dict[str, bool]) -> None:
    """Raise ``DemoKeyError`` when the public demo key would pseudonymise a cohort not marked demo.

    ``demo_cohorts`` maps cohort id to its cohort.yml ``demo`` flag. The message is one
    line: which cohorts, and how to make a key.
    """
    if not key.is_demo:
        return
    real = sorted(name for name, demo in demo_cohorts.items() if not demo)
    if real:
        raise DemoKeyError(
            f"no pseudonymisation key for cohort(s) not marked `demo: true` ({', '.join(real)}): only the public "
            f"demo key was found, and anyone could reverse its pseudonyms; {MAKE_A_KEY}")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def key_path_problem(path: Path, root: Path) -> str | None:
    """Why ``path`` may not hold a key (inside the project ``root`` or any DVC project), or None."""
    path = Path(os.path.expanduser(str(path))).resolve()
    root = Path(root).resolve()
    if _inside(path, root):
        return f"{path} is inside the project repository ({root}): a key there could be committed or tracked"
    for folder in path.parents:
        if (folder / "dvc.yaml").is_file() or (folder / ".dvc").is_dir():
            return f"{path} is inside a DVC project ({folder}): a key there could be committed or tracked"
    return None


def create_key_file(path: Path, force: bool = False, root: Path | None = None) -> Path:
    """Write a new random key to ``path`` (owner-only, 0600; a directory it creates 0700); return it.

    Raises ``KeyFileError`` when ``path`` lies inside ``root`` (the project; default the
    one ``pcnstudy.core.paths`` found) or inside any DVC project, or when a file is
    already there and ``force`` is false. The key is written to a temporary file in
    the same folder and moved into place, so a reader never sees half a key.
    """
    root = paths.ROOT if root is None else root
    path = Path(os.path.expanduser(str(path)))
    problem = key_path_problem(path, root)
    if problem:
        raise KeyFileError(problem)
    path = path.resolve()
    if path.exists() and not force:
        raise KeyFileError(f"{path} already exists: pass --force to replace it (pseudonyms made with the old "
                           "key will then no longer match new ones)")
    missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def key_command(out: Path | None = None, force: bool = False, ingest_params: dict | None = None,
                root: Path | None = None) -> int:
    """``pcnstudy key``: write a new key (default params.yaml ``ingest.key_file``); 0 written, 1 refused.

    Prints where the key went and how ingest finds it, never the key.
    """
    if ingest_params is None:
        ingest_params = load_params().get("ingest") or {}
    configured = ingest_params.get("key_file") or DEFAULT_KEY_FILE
    target = Path(os.path.expanduser(str(out or configured)))
    try:
        written = create_key_file(target, force=force, root=root)
    except (KeyFileError, OSError) as exc:
        reason = exc if isinstance(exc, KeyFileError) else f"{target}: cannot write the key ({exc.strerror or exc})"
        print(f"error: {reason}", file=sys.stderr)
        return 1
    print(f"wrote a new pseudonymisation key to {written} (readable by you only, mode 0600)")
    if written != Path(os.path.expanduser(str(configured))).resolve():
        print(f"ingest reads {configured} (params.yaml ingest.key_file): point it at this file, or set "
              f"{ingest_params.get('key_env') or DEFAULT_KEY_ENV} to the key")
    mode = stat.S_IMODE(written.parent.stat().st_mode)
    if mode & 0o077:
        print(f"note: its folder {written.parent} is open to others (mode {mode:04o}); the key file itself is not")
    print("keep a copy with the raw data's safeguards: without it the pseudonyms cannot be made again")
    return 0
