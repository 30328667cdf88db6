"""The ``tixallo-qa`` command: one subcommand per module in ``tixallo_qa.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tixallo_qa.netutil import PortInUseError
from tixallo_qa.settings import SettingsError

# name -> (module under tixallo_qa.commands, one-line help). Modules load lazily so that a
# command never pays for (or is broken by) another command's imports, locust's gevent above all.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "verify a deployment end to end: contracts, webhooks, a short load run, a report"),
    "contracts": ("contracts", "run the contract suite against the configured target"),
    "load": ("load", "run a load test with SLO gates and webhook accounting"),
    "sink": ("sink", "run the webhook sink in the foreground"),
    "reference": ("reference", "the local reference deployment: serve, seed"),
    "doctor": ("doctor", "check the settings, the target and the webhook path, one fix per problem"),
    "selftest": ("selftest", "measure which planted faults the suite catches (kill rate)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tixallo-qa",
        description="Contract, webhook and load testing for Tixallo v1 deployments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"tixallo_qa.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except (SettingsError, PortInUseError) as exc:
        print(f"tixallo-qa {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tixallo-qa {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
