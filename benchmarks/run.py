"""Run the pcnstudy benchmarks (the same code as ``pcnstudy bench``).

    python benchmarks/run.py                       # every scenario, reports/bench.json
    python benchmarks/run.py --only cold,noop      # some scenarios
    python benchmarks/run.py --only cold,floor     # cold / floor: the study's work against its overhead
    python benchmarks/run.py --work /tmp/b --out /tmp/bench.json

Scenarios: cold, noop, incremental (the demonstration study under ``dvc repro``),
floor (the stage notebooks cut after their imports and a one-paragraph paper, beside cold),
national (config/simulation-national.yml through ingest, scores and themes),
throughput (theme model vs gensim LdaModel), growth (scores and themes at 1x, 4x, 16x).
See ``pcnstudy.bench.scenarios`` for what each measures and where. Exit 0 when every step ran, 1 when a
step failed, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pcnstudy.bench.scenarios import SCENARIOS, bench_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios (default all: {','.join(SCENARIOS)})")
    parser.add_argument("--out", type=Path, default=None, help="report path (default reports/bench.json)")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the working files here (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.only.split(",") if s.strip()]
    return bench_command(scenarios, out=args.out, work=args.work)


if __name__ == "__main__":
    sys.exit(main())
