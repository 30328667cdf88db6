"""Both directions against the Standard Webhooks reference library (``standardwebhooks``).

The sink accepts what the library signs; the library verifies what our signer produces; and a
wrong secret, a tampered body or a stale timestamp is refused the same way by both.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tixallo_qa.core import signing
from tixallo_qa.core.signing import BAD_SIGNATURE, STALE_TIMESTAMP, VALID

pytestmark = pytest.mark.unit

BODY = b'{"event_type":"ticket.created","ticket_id":"9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3"}'
KEY = base64.b64encode(b"tixallo-qa interop key 0123456789").decode()
# The library's secrets are base64, with or without the whsec_ prefix.
SECRETS = [f"whsec_{KEY}", KEY, KEY.rstrip("=")]
OTHER = "whsec_" + base64.b64encode(b"another key entirely").decode()


def _library_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    signature = Webhook(secret).sign("msg_1", when, body.decode())
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _library_accepts(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def _ours(secret: str) -> signing.Scheme:
    return signing.make("standard", secret, tolerance=300)


@pytest.mark.parametrize("secret", SECRETS)
def test_the_sink_accepts_what_the_library_signs(secret: str) -> None:
    headers = _library_headers(secret, BODY, int(time.time()))
    assert _ours(secret).verify(headers, BODY).verdict == VALID


@pytest.mark.parametrize("secret", SECRETS)
def test_the_library_verifies_what_we_sign(secret: str) -> None:
    headers = {k.lower(): v for k, v in _ours(secret).sign(BODY, delivery_id="msg_1").items()}
    assert _library_accepts(secret, BODY, headers)


@pytest.mark.parametrize(
    ("case", "verdict"),
    [("wrong secret", BAD_SIGNATURE), ("tampered body", BAD_SIGNATURE), ("stale", STALE_TIMESTAMP)],
)
@pytest.mark.parametrize("signer", ["library", "ours"])
def test_both_refuse_the_same_deliveries(case: str, verdict: str, signer: str) -> None:
    secret = SECRETS[0]
    signing_secret = OTHER if case == "wrong secret" else secret
    timestamp = int(time.time()) - (600 if case == "stale" else 0)
    if signer == "library":
        headers = _library_headers(signing_secret, BODY, timestamp)
    else:
        signed = _ours(signing_secret).sign(BODY, delivery_id="msg_1", timestamp=timestamp)
        headers = {k.lower(): v for k, v in signed.items()}
    body = BODY.replace(b"ticket.created", b"ticket.updated") if case == "tampered body" else BODY
    assert _ours(secret).verify(headers, body).verdict == verdict
    assert not _library_accepts(secret, body, headers)
