"""``tixallo-qa doctor``: check settings, target, keys, sink and the webhook path; one fix per problem."""

from __future__ import annotations

import argparse
import json
import sys

from tixallo_qa.core import settings as _settings

# status -> (label, rich style)
STYLES = {
    "ok": ("ok", "green"),
    "note": ("note", "cyan"),
    "warn": ("warn", "yellow"),
    "problem": ("problem", "bold red"),
    "skipped": ("skipped", "dim"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.core.exitcodes import epilog

    parser.epilog = epilog()
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of lines"
    )
    parser.add_argument("--quiet", action="store_true", help="print only warnings and problems")
    _settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.text import Text

    from tixallo_qa._doctor import diagnose
    from tixallo_qa.target import TargetError

    settings = _settings.from_args(args)
    err = Console(stderr=True)
    live = not args.json and not args.quiet and err.is_terminal
    status = err.status("doctor: starting", spinner="dots") if live else None
    if status is not None:
        status.start()
    try:
        report = diagnose(
            settings,
            on_step=(lambda s: status.update(f"doctor: {s}")) if status is not None else None,
        )
    except TargetError as exc:
        first = str(exc).splitlines()[0]
        if args.json:
            print(
                json.dumps(
                    {
                        "target": None,
                        "embedded": True,
                        "ok": False,
                        "error": first,
                        "exit_code": exc.code,
                    }
                )
            )
        else:
            err.print(
                Text(
                    f"doctor: the embedded reference deployment did not start ({first}): run 'tixallo-qa reference serve' to see why"
                )
            )
        return exc.code
    finally:
        if status is not None:
            status.stop()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return report.exit_code
    out = Console(highlight=False)
    where = " (embedded reference deployment)" if report.embedded else ""
    if not args.quiet:
        out.print(
            Text.assemble(("tixallo-qa doctor", "bold"), f"  {report.target}{where}"),
            soft_wrap=True,
        )
    width = max(len(f.area) for f in report.findings) if report.findings else 0
    for finding in report.findings:
        if args.quiet and finding.status not in ("warn", "problem"):
            continue
        label, style = STYLES.get(finding.status, (finding.status, ""))
        line = Text.assemble(
            (f"  {label:<9}", style), (f"{finding.area:<{width}}  ", "dim"), finding.message
        )
        out.print(line, soft_wrap=True)
    problems = len(report.problems)
    if problems:
        out.print(
            Text(
                f"{problems} problem{'s' if problems > 1 else ''}: fix {'them' if problems > 1 else 'it'} and run doctor again.",
                style="bold red",
            ),
            soft_wrap=True,
        )
    elif not args.quiet:
        warnings = report.to_json()["warnings"]
        tail = f" ({warnings} warning{'s' if warnings > 1 else ''})" if warnings else ""
        out.print(Text(f"No problem found{tail}.", style="bold green"), soft_wrap=True)
    sys.stdout.flush()
    return report.exit_code
