"""The pseudonymisation key fails closed: `pcnstudy key` makes one outside the repository,
owner-only; ingest of a cohort not marked demo stops without one; the key never reaches
an output, a log or the command's own messages."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT
from pcnstudy.core import paths
from pcnstudy.ingest.pseudonym import (DEMO_KEY, KEY_BYTES, KeyFileError, PseudonymKey, create_key_file,
                                       key_command, resolve_key)
from pcnstudy.ingest.stage import IngestError, read_inputs

TEST_KEY = "test-key-7f3a9c1e5b2d8046-never-in-an-output"


def real_cohort(tmp_path: Path, name: str = "ss_als") -> Path:
    """A copy of one simulated cohort whose cohort.yml no longer says demo: true (as a real cohort's)."""
    raw = tmp_path / "raw"
    shutil.copytree(paths.RAW / name, raw / name)
    config = raw / name / "cohort.yml"
    text = config.read_text(encoding="utf-8")
    assert "demo: true" in text
    config.write_text(text.replace("demo: true", "demo: false"), encoding="utf-8")
    return raw


def run_pcnstudy(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pcnstudy"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PCNSTUDY_PSEUDONYM_KEY"}
    env.update(HOME=str(home), PCNSTUDY_ROOT=str(ROOT), **extra)
    return env


def test_key_file_is_random_owner_only_and_not_overwritten(tmp_path):
    target = tmp_path / "home" / ".config" / "pcnstudy" / "pseudonym.key"
    written = create_key_file(target, root=ROOT)
    key = written.read_text(encoding="ascii").strip()
    assert len(key) == 2 * KEY_BYTES and int(key, 16) >= 0
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
    with pytest.raises(KeyFileError, match="already exists: pass --force"):
        create_key_file(target, root=ROOT)
    assert written.read_text(encoding="ascii").strip() == key
    create_key_file(target, force=True, root=ROOT)
    assert written.read_text(encoding="ascii").strip() != key  # a new random key
    assert [p.name for p in written.parent.iterdir()] == ["pseudonym.key"]  # no temporary file left
    assert resolve_key({"key_env": "NO_SUCH_ENV", "key_file": str(target)}, {}).source == "file"


def test_key_file_inside_the_project_is_refused(tmp_path):
    with pytest.raises(KeyFileError, match="inside the project repository"):
        create_key_file(ROOT / "data" / "raw" / "pseudonym.key", root=ROOT)
    other = tmp_path / "study"
    other.mkdir()
    (other / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(KeyFileError, match="inside a DVC project"):
        create_key_file(other / "keys" / "k.key", root=ROOT)
    assert not (other / "keys").exists() and not (ROOT / "data" / "raw" / "pseudonym.key").exists()


def test_key_command_prints_where_never_the_key(tmp_path, capsys):
    target = tmp_path / "keys" / "pseudonym.key"
    params = {"key_env": "PCNSTUDY_PSEUDONYM_KEY", "key_file": str(target)}
    assert key_command(None, False, params, root=ROOT) == 0
    out = capsys.readouterr()
    key = target.read_text(encoding="ascii").strip()
    assert f"wrote a new pseudonymisation key to {target.resolve()}" in out.out
    assert key not in out.out + out.err
    assert key_command(None, False, params, root=ROOT) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and key not in err


def test_key_repr_hides_the_key():
    key = PseudonymKey(TEST_KEY.encode(), "env")
    assert TEST_KEY not in repr(key) and "env" in repr(key)


def test_ingest_of_a_real_cohort_stops_without_a_key(tmp_path):
    raw = real_cohort(tmp_path)
    with pytest.raises(IngestError, match=r"\(ss_als\): only the public demo key was found.*pcnstudy key"):
        read_inputs(raw, [], paths.INSTRUMENT, "NO_SUCH_ENV", str(tmp_path / "no.key"))
    assert read_inputs(paths.RAW, ["ss_als"], paths.INSTRUMENT, "NO_SUCH_ENV", str(tmp_path / "no.key")).key.is_demo
    proc = run_pcnstudy(["ingest", "--raw", str(raw), "--out", str(tmp_path / "out")], clean_env(tmp_path), tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "pcnstudy key" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_key_file_inside_the_project_is_refused_by_ingest(tmp_path):
    inside = ROOT / "tests" / "data" / "refused-test.key"
    inside.write_text(TEST_KEY + "\n", encoding="utf-8")
    try:
        assert subprocess.run(["git", "check-ignore", "-q", str(inside)], cwd=ROOT).returncode == 0
        with pytest.raises(IngestError, match="inside the project repository.*`pcnstudy key`"):
            read_inputs(paths.RAW, ["ss_als"], paths.INSTRUMENT, "NO_SUCH_ENV", str(inside))
    finally:
        inside.unlink()


def test_the_key_never_reaches_outputs_or_logs(tmp_path):
    """An ingest run with a known key: scan every byte it wrote, and what it printed, for the key."""
    raw = real_cohort(tmp_path)
    out = tmp_path / "out"
    proc = run_pcnstudy(["ingest", "--raw", str(raw), "--out", str(out)],
                        clean_env(tmp_path, PCNSTUDY_PSEUDONYM_KEY=TEST_KEY), tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(written) >= 8
    needles = [TEST_KEY.encode(), TEST_KEY.encode().hex().encode(), TEST_KEY.upper().encode()]
    hits = [str(p) for p in written for n in needles if n in p.read_bytes()]
    hits += [f"stream {n!r}" for n in needles if n.decode() in proc.stdout + proc.stderr]
    assert not hits, hits
    assert DEMO_KEY.decode() not in proc.stdout + proc.stderr
    report = (out / "ingest_report.json").read_text(encoding="utf-8")
    assert '"pseudonym_key": "env"' in report


def test_the_key_never_reaches_the_executed_ingest_notebook(tmp_path):
    """The stage as `dvc repro` runs it (`pcnstudy notebook 01_ingest`), in a minimal project
    holding one real cohort: the key is in the environment only, never in what the run wrote."""
    root = tmp_path / "study"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy2(ROOT / "notebooks" / "01_ingest.ipynb", root / "notebooks")
    shutil.copytree(ROOT / "config", root / "config")
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(real_cohort(tmp_path), root / "data" / "raw")
    before = {p for p in root.rglob("*") if p.is_file()}
    proc = run_pcnstudy(["notebook", "01_ingest"], clean_env(tmp_path, PCNSTUDY_PSEUDONYM_KEY=TEST_KEY)
                        | {"PCNSTUDY_ROOT": str(root)}, root)
    assert proc.returncode == 0, proc.stderr
    written = sorted({p for p in root.rglob("*") if p.is_file()} - before)
    assert any(p.name == "01_ingest.ipynb" for p in written) and any(p.suffix == ".parquet" for p in written)
    needles = [TEST_KEY.encode(), TEST_KEY.encode().hex().encode()]
    hits = [str(p) for p in written for n in needles if n in p.read_bytes()]
    hits += ["stdout/stderr" for n in needles if n.decode() in proc.stdout + proc.stderr]
    assert not hits, hits
