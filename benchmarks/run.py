"""Run every benchmark module ``benchmarks/bench_*.py`` with its default size.

python -m benchmarks.run [--rows N]
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=None, help="rows for every benchmark")
    args = ap.parse_args(argv)
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    for name in names:
        print(f"== {name}", flush=True)
        mod = importlib.import_module(f"benchmarks.{name}")
        rc = mod.main([] if args.rows is None else ["--rows", str(args.rows)])
        if rc:
            return int(rc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
