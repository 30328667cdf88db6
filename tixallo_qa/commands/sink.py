"""``tixallo-qa sink``: the webhook sink in the foreground, with one line saying where to point Tixallo."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Written by `tixallo-qa reference serve` (make serve): the local deployment's settings.
REFERENCE_ENV = Path(".tixallo/reference.env")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.webhook_sink.config import add_arguments as sink_arguments

    sink_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tixallo_qa.webhook_sink.config import from_args
    from tixallo_qa.webhook_sink.server import run_foreground

    if not args.env_file and "TIXALLO_WEBHOOK_SECRET" not in os.environ and REFERENCE_ENV.exists():
        # `make serve` then `make sink` should just work: take the local deployment's secret.
        args.env_file = str(REFERENCE_ENV)
        print(
            f"using the webhook secret of the local reference deployment ({REFERENCE_ENV})",
            flush=True,
        )
    # SettingsError and PortInUseError reach tixallo_qa.cli, which prints one line and exits 2.
    return run_foreground(
        from_args(args),
        fresh=args.fresh,
        ready_file=args.ready_file,
        announce=lambda line: print(line, flush=True),
    )
