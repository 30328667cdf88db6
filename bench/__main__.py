"""``python -m bench`` (``make bench``): every benchmark in sequence, or ``--only NAME``; ``--quick`` for a smoke run."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

# Run order: cheapest and most self-contained first.
BENCHMARKS = ("sink_ingest", "loadgen", "open_model", "reference", "contracts", "selftest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only this benchmark (repeatable or comma-separated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the code runs")
    args = parser.parse_args(argv)
    chosen = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if not chosen or n in chosen]
    command = (
        "python -m bench"
        + "".join(f" --only {n}" for n in chosen)
        + (" --quick" if args.quick else "")
    )
    print(f"# tixallo-qa benchmarks\n\n`{command}`, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    failed = []
    started = time.monotonic()
    for name in names:
        began = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            code = module.main(["--quick"] if args.quick else [])
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            code = 1
        print(f"\n({name}: {time.monotonic() - began:.0f} s)", flush=True)
        if code:
            failed.append(name)
    print(
        f"\nAll done in {time.monotonic() - started:.0f} s"
        + (f"; FAILED: {', '.join(failed)}" if failed else ".")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
