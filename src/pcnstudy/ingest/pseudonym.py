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
   demonstration study (cohorts whose cohort.yml says ``demo: true``); using it for
   any other cohort raises a loud warning (``warnings.warn`` and the log).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The public demonstration key. Documented, NOT secret: for the simulated twin only.
DEMO_KEY = b"pcnstudy-public-demo-key-not-secret"
DEFAULT_KEY_ENV = "PCNSTUDY_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = "~/.config/pcnstudy/pseudonym.key"
PREFIX = "r_"
HEX_DIGITS = 12


class DemoKeyWarning(UserWarning):
    """The public demo key is being used for data that is not the demonstration study."""


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key and where it came from ('env', 'file' or 'demo')."""

    key: bytes
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


def check_demo_key_use(key: PseudonymKey, demo_cohorts: dict[str, bool]) -> str | None:
    """Warn loudly when the public demo key would pseudonymise a non-demonstration cohort.

    ``demo_cohorts`` maps cohort id to its cohort.yml ``demo`` flag. Returns the warning
    text (or None when all is well).
    """
    if not key.is_demo:
        return None
    real = sorted(name for name, demo in demo_cohorts.items() if not demo)
    if not real:
        return None
    message = (
        "PSEUDONYMISATION USES THE PUBLIC DEMO KEY for cohorts not marked `demo: true` "
        f"({', '.join(real)}): anyone can reverse these pseudonyms. Set the environment variable "
        f"{DEFAULT_KEY_ENV} (or params.yaml ingest.key_env) or write a key file "
        f"({DEFAULT_KEY_FILE}) outside the repository."
    )
    warnings.warn(message, DemoKeyWarning, stacklevel=2)
    log.warning(message)
    return message
