"""``tixallo-qa replay <report-dir> <check-id>``: send a failed check's requests again, judge it again.

Two steps, both against the target the current settings describe (its keys, never the report's):
first the exact requests the check sent, in order, each shown as a redacted curl with the status
it got then and now; then the check itself, run again with the run's seed (so a generated check
regenerates the very examples that failed) and its webhook expectations, which says whether it
still fails. A check that judges the whole run (a sweep, an oracle's report) runs with the whole
suite. Exit code: 1 still fails, 0 passes now, 2 no such check, 3 the target is unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tixallo_qa.core import exitcodes
from tixallo_qa.core import settings as _settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report_dir", metavar="REPORT_DIR", help="a run's report folder")
    parser.add_argument(
        "check", metavar="CHECK_ID", help="the check's name, as the report shows it"
    )
    parser.add_argument(
        "--no-resend",
        action="store_true",
        help="only run the check again (skip the exact requests)",
    )
    parser.epilog = exitcodes.epilog()
    _settings.add_arguments(parser)


def _record(folder: Path, check: str) -> dict[str, Any]:
    from tixallo_qa.report._folder import check_file

    path = check_file(folder, check)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        listed = sorted(p.stem for p in (folder / "checks").glob("*.json"))
        raise _settings.SettingsError(
            f"{folder} holds no failed check {check!r}"
            + (
                f": it holds {', '.join(listed)}"
                if listed
                else ": give the folder of a run that failed"
            )
        ) from None


def _key(identity: str | None, settings: _settings.Settings) -> str | None:
    """The current key standing for the identity that sent a request (None: as recorded)."""
    return {
        "main": settings.api_key,
        "other": settings.other_api_key,
        "rate-limit": settings.rate_limit_api_key,
        "revoked": settings.revoked_api_key,
    }.get(identity or "")


def resend(record: dict[str, Any], settings: _settings.Settings, out: Any) -> int:
    """The check's recorded requests again, in order; how many got another status than before."""
    import httpx

    from tixallo_qa.core import tls
    from tixallo_qa.core.curl import curl
    from tixallo_qa.core.redact import Redactor

    assert settings.base_url is not None
    redactor = Redactor(settings.secrets)
    base = urlsplit(settings.base_url)
    changed = 0
    with httpx.Client(
        timeout=settings.request_timeout,
        verify=tls.client_context(settings.ca_bundle),
        trust_env=False,
    ) as http:
        for ex in record.get("exchanges", []):
            url = urlsplit(ex["url"])._replace(scheme=base.scheme, netloc=base.netloc).geturl()
            headers = {
                k: v
                for k, v in ex["request_headers"].items()
                if k.lower() not in ("host", "content-length")
            }
            key = _key(ex.get("identity"), settings)
            if key is not None:
                headers["Authorization"] = f"Bearer {key}"
            body = ex.get("request_body")
            try:
                status: int | str = http.request(
                    ex["method"], url, headers=headers, content=body.encode() if body else None
                ).status_code
            except httpx.HTTPError as exc:
                status = f"no answer ({type(exc).__name__})"
            then = ex.get("status") or ex.get("error") or "no answer"
            changed += status != then
            out.print(
                f"#{ex['seq']} {curl(ex['method'], url, headers=headers, body=body, redactor=redactor, body_limit=300)}",
                soft_wrap=True, highlight=False, markup=False,
            )  # fmt: skip
            out.print(f"   then {then}, now {status}", highlight=False, markup=False)
    return changed


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tixallo_qa.contracts.runner import run_suite

    settings = _settings.from_args(args)
    folder = Path(args.report_dir)
    record = _record(folder, args.check)
    out = Console(highlight=False)
    if settings.embedded:
        raise _settings.SettingsError(
            "replay needs the deployment to replay against: set TIXALLO_BASE_URL (and its keys) "
            "as for the run"
        )
    if not args.no_resend and record.get("exchanges"):
        out.print(f"the {len(record['exchanges'])} recorded request(s) of {record['name']}, again:")
        changed = resend(record, settings, out)
        out.print(f"{changed} answered otherwise than in the recorded run")
    whole = bool(record.get("sweep"))
    name = str(record["name"]).split("[")[0]
    out.print(
        f"running {'the whole suite for ' if whole else ''}{name} again with the run's seed "
        f"{record.get('seed')}:"
    )
    result = run_suite(
        settings,
        profile=str(record.get("profile") or settings.profile),
        select=None if whole else [name],
        seed=record.get("seed"),
    )
    if result.infrastructure:
        print(f"tixallo-qa replay: {result.infrastructure}", file=sys.stderr)
        return result.stop_code
    mine = [c for c in result.checks if c.name == record["name"] or c.base_name == name]
    failed = [c for c in mine if c.outcome == "failed"]
    for check in failed[:1]:
        out.print(check.message, markup=False)
    if failed:
        out.print(f"[bold red]still fails[/]: {record['name']}")
        return exitcodes.DEFECTS
    if not mine or all(c.outcome == "skipped" for c in mine):
        out.print(
            f"[yellow]not judged[/]: {record['name']} did not run ({', '.join(c.message for c in mine)[:300]})"
        )
        return exitcodes.INCONCLUSIVE
    out.print(f"[green]passes now[/]: {record['name']}")
    return exitcodes.PASSED
