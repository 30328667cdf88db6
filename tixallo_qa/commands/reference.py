"""``tixallo-qa reference serve|seed|admin``: the local reference deployment (what `make serve` runs)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # reference.cli imports only argparse-level modules; the server's stack loads inside run().
    from tixallo_qa.reference.cli import add_subcommands

    add_subcommands(parser, project=True)


def run(args: argparse.Namespace) -> int:
    from tixallo_qa.reference.cli import run as run_reference

    return run_reference(args, prog="tixallo-qa reference", project=True)
