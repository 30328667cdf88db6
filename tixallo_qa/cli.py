"""The ``tixallo-qa`` command: one subcommand per module in ``tixallo_qa.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tixallo_qa.baseline import BaselineError
from tixallo_qa.core.exitcodes import INTERRUPTED, USAGE, epilog
from tixallo_qa.core.netutil import ListenError
from tixallo_qa.core.settings import SettingsError

# name -> (module under tixallo_qa.commands, one-line help). Only the chosen command's module
# is imported, so a command never pays for (or is broken by) another's imports, locust's
# gevent patching above all. Each module has ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "run",
        "verify a deployment end to end: contracts, webhooks, a short load run, a report",
    ),
    "contracts": ("contracts", "run the contract suite against the configured target"),
    "load": ("load", "run a load test with SLO gates and webhook accounting"),
    "sink": ("sink", "run the webhook sink in the foreground"),
    "reference": ("reference", "the local reference deployment: serve, seed, admin"),
    "doctor": ("doctor", "check settings, target and webhook path; one fix per problem"),
    "selftest": ("selftest", "measure which planted faults the suite catches (kill rate)"),
    "baseline": ("baseline", "write a run's known failures to a baseline file (--baseline)"),
    "replay": ("replay", "send a failed check's requests again and judge it again"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tixallo-qa",
        description="Contract, webhook and load testing for Tixallo v1 deployments.",
        epilog="Run 'tixallo-qa COMMAND --help' for a command's options. " + epilog(),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if not argv or argv[0] in ("-h", "--help"):
            parser.print_help()
            return 0 if argv else 2
        parser.error(f"unknown command {argv[0]!r}: choose one of {', '.join(COMMANDS)}")
    name = argv[0]
    module = importlib.import_module(f"tixallo_qa.commands.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"tixallo-qa {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.command = name
    try:
        return int(module.run(args) or 0)
    except (SettingsError, ListenError, BaselineError) as exc:
        print(f"tixallo-qa {name}: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(f"tixallo-qa {name}: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
