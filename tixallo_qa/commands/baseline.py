"""``tixallo-qa baseline write <report-dir>``: the failures of a run, as a baseline file to gate on."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_FILE = "tixallo-baseline.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    write = sub.add_parser("write", help="write the known failures of a run to a baseline file")
    write.add_argument(
        "report_dir", metavar="REPORT_DIR", help="a run's report folder (summary.json)"
    )
    write.add_argument(
        "-o", "--output", default=DEFAULT_FILE, metavar="FILE", help=f"default {DEFAULT_FILE}"
    )
    write.add_argument(
        "--days", type=int, default=30, metavar="N", help="each entry expires after N days (30)"
    )
    write.add_argument("--reason", metavar="TEXT", help="the reason written into every entry")


def run(args: argparse.Namespace) -> int:
    from tixallo_qa.baseline import TODO_REASON, Baseline, default_expiry, failures_in_summary

    summary_path = Path(args.report_dir) / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(
            f"tixallo-qa baseline: {summary_path} cannot be read ({exc}): give the report folder "
            "of a 'tixallo-qa run' (reports/<timestamp>)",
            file=sys.stderr,
        )
        return 2
    if args.days < 1:
        print("tixallo-qa baseline: --days must be 1 or more", file=sys.stderr)
        return 2
    failures = failures_in_summary(summary)
    baseline = Baseline.from_failures(
        failures, reason=args.reason or TODO_REASON, expires=default_expiry(args.days)
    )
    baseline.write(args.output)
    print(
        f"wrote {len(baseline.entries)} known failure(s) of {args.report_dir} to {args.output}, "
        f"expiring {default_expiry(args.days).isoformat()}; fill in each reason, then pass "
        f"--baseline {args.output} to 'tixallo-qa run' or 'tixallo-qa contracts'"
    )
    return 0
