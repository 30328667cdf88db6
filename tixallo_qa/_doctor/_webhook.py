"""The webhook path end to end: a sink to receive, and a probe ticket whose event must arrive signed."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from tixallo_qa.core import clocks, exitcodes, signing
from tixallo_qa.core.netutil import PortInUseError, check_port_free
from tixallo_qa.core.settings import Settings
from tixallo_qa.target import Target, TargetError, sink_client, sink_status

from ._api import Api
from ._model import OK, PROBLEM, WARN, DoctorReport


def _health(settings: Settings) -> dict[str, Any] | None:
    try:
        with sink_client(settings, timeout=2.0) as client:
            return client.health()
    except (httpx.HTTPError, RuntimeError, ValueError):
        return None


def check_sink(settings: Settings, report: DoctorReport) -> str:
    """``"running"``, ``"startable"`` or ``"blocked"``: can webhooks be received where the settings say."""
    url = settings.sink_url
    try:
        state = sink_status(url, token=settings.sink_token, ca_bundle=settings.ca_bundle)
    except TargetError as exc:
        report.add("sink", PROBLEM, str(exc), code=exc.code)
        return "blocked"
    if state == "refuses":
        report.add(
            "sink",
            PROBLEM,
            f"the sink at {url} refuses "
            + ("TIXALLO_SINK_TOKEN" if settings.sink_token else "requests without a token")
            + " (401): set TIXALLO_SINK_TOKEN to the token it printed when it started "
            "(saved in .tixallo/sink.env)",
        )
        return "blocked"
    health = _health(settings) if state == "answers" else None
    if health is not None:
        path, scheme = health.get("webhook_path"), health.get("scheme")
        if path != settings.sink_path:
            report.add(
                "sink",
                PROBLEM,
                f"the sink at {url} receives on {path}, not TIXALLO_SINK_PATH={settings.sink_path}: "
                "restart the sink with the same settings, or fix TIXALLO_SINK_PATH",
            )
            return "blocked"
        if scheme != settings.webhook_scheme:
            report.add(
                "sink",
                WARN,
                f"the sink at {url} verifies the {scheme} scheme, not TIXALLO_WEBHOOK_SCHEME="
                f"{settings.webhook_scheme}: restart it with the same settings",
            )
        report.add("sink", OK, f"a sink answers at {url} (receiving on {path})")
        return "running"
    try:
        check_port_free(settings.sink_host, settings.sink_port)
    except PortInUseError:
        report.add(
            "sink",
            PROBLEM,
            f"something that is not a tixallo-qa sink listens on {settings.sink_host}:{settings.sink_port}: "
            "stop it, or set TIXALLO_SINK_PORT to a free port (and point the webhook endpoint there)",
        )
        return "blocked"
    except OSError as exc:
        report.add(
            "sink",
            PROBLEM,
            f"the sink cannot listen on {settings.sink_host}:{settings.sink_port} ({exc.strerror}): "
            "set TIXALLO_SINK_HOST to an address of this machine",
        )
        return "blocked"
    report.add("sink", OK, f"no sink runs at {url}; the port is free, so one can start there")
    return "startable"


@contextlib.contextmanager
def sink_for_probe(
    settings: Settings, state: str, report: DoctorReport
) -> Iterator[Settings | None]:
    """Start a sink for the probe when none runs; yield the settings that reach it (None: no sink)."""
    if state == "running":
        yield settings
        return
    if state != "startable":
        yield None
        return
    try:
        target = Target.start(settings, sink="required", probe=False)
    except TargetError as exc:
        first = str(exc).splitlines()[0]
        report.add(
            "sink",
            PROBLEM,
            f"the sink did not start ({first}): run 'tixallo-qa sink' to see why",
            code=exc.code,
        )
        yield None
        return
    with target:
        # The started sink has a token of its own: the probe asks it with that one.
        yield target.settings


def _verdict_problem(verdict: str, detail: str, settings: Settings) -> str:
    if verdict == "bad_signature":
        return (
            "the webhook secret does not match the endpoint's signing secret: copy it from the Tixallo "
            "app's webhook settings into TIXALLO_WEBHOOK_SECRET"
        )
    if verdict == "stale_timestamp":
        return (
            f"the webhook's timestamp is more than {settings.webhook_tolerance:g} s off this machine's clock "
            f"({detail or 'stale'}): sync both clocks (NTP), or raise TIXALLO_WEBHOOK_TOLERANCE"
        )
    if verdict == "missing_headers":
        return (
            f"the webhook lacks the signature headers of the {settings.webhook_scheme} scheme ({detail}): "
            f"set TIXALLO_WEBHOOK_SCHEME to the scheme the deployment signs with ({', '.join(signing.signed_names())})"
        )
    return f"the sink refused the probe's webhook as {verdict} ({detail}): check the endpoint's settings in the Tixallo app"


def probe(
    api: Api,
    settings: Settings,
    key: str,
    report: DoctorReport,
    skews: list[clocks.Skew | None] | None = None,
) -> str | None:
    """Create a probe ticket and wait for its ``ticket.created`` at the sink; return the ticket id.

    The webhook's timestamp against its arrival goes to ``skews`` (the clock check).
    """
    skews = [] if skews is None else skews
    marker = uuid.uuid4()
    body = {
        "subject": f"tixallo-qa doctor probe {marker}",
        "description": "Created by 'tixallo-qa doctor' to check that webhooks reach the sink. Safe to close.",
        "customer_email": "tixallo-qa-doctor@example.com",
        "customer_name": "tixallo-qa doctor",
    }
    created_at = time.time()
    answer = api.request("POST", "/tickets", key, json=body)
    if answer.status == 429:
        report.add(
            "webhook",
            WARN,
            "probe not sent: TIXALLO_API_KEY is rate limited right now (429); run doctor again in a minute",
        )
        return None
    data = answer.body.get("data") if isinstance(answer.body, dict) else None
    if answer.status != 201 or not isinstance(data, dict) or "id" not in data:
        error = (
            answer.error
            or (answer.body.get("error") if isinstance(answer.body, dict) else None)
            or answer.status
        )
        report.add(
            "webhook",
            PROBLEM,
            f"creating the probe ticket failed ({error}): the deployment refuses a valid create; check its logs",
        )
        return None
    ticket_id = str(data["id"])
    number = data.get("ticket_number", "?")
    timeout = settings.webhook_timeout
    try:
        with sink_client(settings) as sink:
            events, _ = sink.wait("ticket.created", timeout=timeout, ticket_id=ticket_id)
    except (httpx.HTTPError, RuntimeError, ValueError) as exc:
        report.add(
            "webhook",
            PROBLEM,
            f"the sink stopped answering while waiting ({exc}): run 'tixallo-qa sink' to see why",
            code=exitcodes.INFRASTRUCTURE,
        )
        return ticket_id
    if not events:
        report.add(
            "webhook",
            PROBLEM,
            f"probe ticket #{number}'s ticket.created webhook did not reach the sink within {timeout:g} s: in the "
            f"Tixallo app, point an active webhook endpoint subscribed to ticket.created at this sink "
            f"({settings.sink_url}{settings.sink_path}, or a public URL forwarding to it)",
        )
        return ticket_id
    event = events[0]
    skews.append(clocks.from_webhooks([(event.headers, event.received_at)]))
    if not event.valid:
        report.add("webhook", PROBLEM, _verdict_problem(event.verdict, event.detail, settings))
        return ticket_id
    lag = event.lag if event.lag is not None else event.received_at - created_at
    report.add(
        "webhook",
        OK,
        f"probe ticket #{number}'s ticket.created webhook arrived in {lag:.2f} s, signature valid",
    )
    errors = event.schema_errors
    if errors:
        report.add(
            "webhook",
            WARN,
            f"the probe's delivery does not match the spec's ticket.created webhook ({errors[0]}): the webhook checks will fail",
        )
    return ticket_id
