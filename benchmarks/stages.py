"""Time the national-scale ingest and scores stages on an already simulated study.

Usage: python benchmarks/stages.py RAW WORK [ingest] [scores]

RAW is a folder written by ``pcnstudy simulate`` (e.g. with
``--config config/simulation-national.yml``); WORK receives the processed tables,
results and figures. Each stage runs in its own child process through
``pcnstudy.bench.child_stages.run_child_stage`` (wall time and peak RSS of that process), so the
figures are those ``pcnstudy bench --only national`` reports for the same stages,
without re-simulating the study. Prints one line per stage and writes WORK/stages.json.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from pcnstudy.bench.child_stages import run_child_stage
from pcnstudy.bench.report import format_table
from pcnstudy.core import paths


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    raw, work = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    stages = argv[2:] or ["ingest", "scores"]
    work.mkdir(parents=True, exist_ok=True)
    processed = work / "processed"
    rows = []
    for stage in stages:
        m = run_child_stage(stage, {"raw": str(raw), "processed": str(processed), "root": str(paths.ROOT)},
                            work, "national")
        rows.append(m)
        print(format_table([m]).splitlines()[-1], flush=True)
        if m.returncode != 0:
            print(m.extra.get("log", ""), file=sys.stderr)
            break
    (work / "stages.json").write_text(json.dumps([vars(m) for m in rows], indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")
    return 0 if all(m.returncode == 0 for m in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
