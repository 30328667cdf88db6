"""``tixallo-qa sink``: the webhook sink in the foreground, with one line saying where to point Tixallo."""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

# Written by `tixallo-qa reference serve` (make serve): the local deployment's settings.
REFERENCE_ENV = Path(".tixallo/reference.env")
# Where the sink keeps the token it made, so a restart keeps it (and its clients keep working).
SINK_ENV = Path(".tixallo/sink.env")
TOKEN = "TIXALLO_SINK_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tixallo_qa.webhook_sink.config import add_arguments as sink_arguments

    sink_arguments(parser)


def _token(args: argparse.Namespace) -> tuple[str, bool]:
    """The configured token, else the one an earlier start saved, else a new one; and whether new."""
    from tixallo_qa.core.settings import from_args, parse_env_file

    configured = from_args(args).sink_token
    if configured:
        return configured, False
    if SINK_ENV.exists():
        saved = parse_env_file(SINK_ENV).get(TOKEN, "").strip()
        if saved:
            print(f"using the sink token saved in {SINK_ENV} ({TOKEN})", flush=True)
            return saved, False
    return secrets.token_urlsafe(24), True


def _save(args: argparse.Namespace, token: str) -> None:
    """Keep a new token (0600 files) and show it, the one time it is ever shown."""
    from tixallo_qa.core.settings import set_in_env_file

    files = [SINK_ENV]
    if args.env_file and Path(args.env_file) == REFERENCE_ENV:
        # `make serve` + `make sink`: one settings file then carries everything the suite needs.
        files.append(REFERENCE_ENV)
    for path in files:
        set_in_env_file(path, TOKEN, token)
    print(
        f"made a sink token, shown only now and saved as {TOKEN} in {' and '.join(map(str, files))}: "
        f"{token}",
        flush=True,
    )


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
    # Everything but deliveries needs the token, so an exposed sink gives nothing away.
    token, made = _token(args)
    args.setting_sink_token = token

    def announce(line: str) -> None:
        # Saved and shown once the sink listens: a sink that failed to start made no token.
        if made:
            _save(args, token)
        print(line, flush=True)

    # SettingsError and PortInUseError reach tixallo_qa.cli, which prints one line and exits 2.
    return run_foreground(
        from_args(args), fresh=args.fresh, ready_file=args.ready_file, announce=announce
    )
