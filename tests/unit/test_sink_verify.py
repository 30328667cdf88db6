"""Signature schemes (tixallo_qa.core.signing) and the sink's verifier: valid, tampered, stale, broken."""

from __future__ import annotations

import pytest

from tixallo_qa.core import signing
from tixallo_qa.core.settings import SettingsError
from tixallo_qa.core.signing import BAD_SIGNATURE, MISSING_HEADERS, STALE_TIMESTAMP, VALID, Check
from tixallo_qa.core.signing.body_hmac import HmacScheme
from tixallo_qa.core.signing.none import NoScheme
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.testing import TEST_SECRET
from tixallo_qa.webhook_sink.verify import make_verifier

pytestmark = pytest.mark.unit

NOW = 1_800_000_000
BODY = b'{"event_type": "ticket.created", "ticket_id": "t-1"}'
# The schemes whose deliveries carry a timestamp.
TIMED = ("tixallo", "standard")


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def signed(name: str, *, secret: str = TEST_SECRET, timestamp: int = NOW) -> dict[str, str]:
    """The signature headers (lower case) scheme ``name`` puts on ``BODY``."""
    scheme = signing.make(name, secret)
    return lower(scheme.signature(BODY, delivery_id="msg_1", timestamp=timestamp))


def verify(name: str, headers: dict[str, str], *, secret: str = TEST_SECRET) -> Check:
    return signing.make(name, secret, tolerance=300).verify(headers, BODY, now=NOW)


# -- the registry ------------------------------------------------------------------------------
def test_every_scheme_module_is_registered_default_first() -> None:
    import pkgutil

    modules = {i.name for i in pkgutil.iter_modules(signing.__path__) if not i.name.startswith("_")}
    assert len(signing.names()) == len(modules) and signing.names()[0] == signing.DEFAULT
    assert set(signing.signed_names()) == set(signing.names()) - {"none"}


@pytest.mark.parametrize("name", signing.names())
def test_each_scheme_verifies_what_it_signs_and_only_that(name: str) -> None:
    scheme = signing.make(name, TEST_SECRET)
    headers = lower(
        scheme.sign(BODY, delivery_id="d-1", event_type="ticket.created", timestamp=NOW)
    )
    assert scheme.verify(headers, BODY, now=NOW).verdict == VALID
    assert headers["content-type"] == "application/json"
    if scheme.needs_secret:
        assert scheme.verify(headers, BODY + b" ", now=NOW).verdict == BAD_SIGNATURE
        other = lower(
            signing.make(name, "another secret").sign(BODY, delivery_id="d-1", timestamp=NOW)
        )
        wrong = scheme.verify(other, BODY, now=NOW)
        assert wrong.verdict == BAD_SIGNATURE
        assert TEST_SECRET not in wrong.detail
        assert {h.lower() for h in scheme.signature_headers} <= set(headers)


# -- what each scheme signs and how it refuses a delivery -------------------------------------
@pytest.mark.parametrize(
    ("name", "header", "value"),
    [("tixallo", "x-tixallo-timestamp", str(NOW + 1)), ("standard", "webhook-id", "msg_2")],
)
def test_a_signed_header_changed_is_a_bad_signature(name: str, header: str, value: str) -> None:
    headers = signed(name)
    headers[header] = value
    assert verify(name, headers).verdict == BAD_SIGNATURE


@pytest.mark.parametrize("name", TIMED)
@pytest.mark.parametrize(
    "offset", [-301, 301, -86_400, 86_400], ids=["stale", "future", "day-old", "day-ahead"]
)
def test_timestamp_outside_tolerance(name: str, offset: int) -> None:
    check = verify(name, signed(name, timestamp=NOW + offset))
    assert check.verdict == STALE_TIMESTAMP
    assert ("future" in check.detail) == (offset > 0)


@pytest.mark.parametrize("name", TIMED)
@pytest.mark.parametrize("offset", [-299, 299])
def test_timestamp_inside_tolerance(name: str, offset: int) -> None:
    assert verify(name, signed(name, timestamp=NOW + offset)).verdict == VALID


def test_tixallo_tolerance_is_configurable() -> None:
    strict = signing.make("tixallo", TEST_SECRET, tolerance=10)
    headers = signed("tixallo", timestamp=NOW - 20)
    assert strict.verify(headers, BODY, now=NOW).verdict == STALE_TIMESTAMP


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("tixallo", "x-tixallo-timestamp"),
        ("tixallo", "x-tixallo-signature"),
        ("standard", "webhook-id"),
        ("standard", "webhook-timestamp"),
        ("standard", "webhook-signature"),
        ("hmac", "x-signature"),
    ],
)
def test_missing_header(name: str, missing: str) -> None:
    headers = signed(name)
    del headers[missing]
    check = verify(name, headers)
    assert check.verdict == MISSING_HEADERS
    assert missing in check.detail.lower()


@pytest.mark.parametrize(
    ("name", "header", "value"),
    [
        ("tixallo", "x-tixallo-timestamp", "yesterday"),
        ("tixallo", "x-tixallo-timestamp", "-5"),
        ("tixallo", "x-tixallo-signature", "md5=abc"),
        ("tixallo", "x-tixallo-signature", "sha256="),
        ("tixallo", "x-tixallo-signature", "deadbeef"),
        ("standard", "webhook-signature", "v2,abc"),
        ("standard", "webhook-signature", "v1,"),
        ("standard", "webhook-timestamp", "1.5e9"),
        ("hmac", "x-signature", "sha1=abcd"),
    ],
)
def test_malformed_header(name: str, header: str, value: str) -> None:
    headers = signed(name)
    headers[header] = value
    assert verify(name, headers).verdict == MISSING_HEADERS


def test_tixallo_signature_not_hex_is_bad() -> None:
    headers = signed("tixallo")
    headers["x-tixallo-signature"] = "sha256=" + "é" * 64
    assert verify("tixallo", headers).verdict == BAD_SIGNATURE


def test_standard_accepts_a_raw_secret() -> None:
    headers = signed("standard", secret="plain-secret")
    assert verify("standard", headers, secret="plain-secret").verdict == VALID


def test_standard_any_of_several_signatures() -> None:
    headers = signed("standard")
    headers["webhook-signature"] = "v1,bm90IGl0 v2,whatever " + headers["webhook-signature"]
    assert verify("standard", headers).verdict == VALID


@pytest.mark.parametrize(
    ("header", "prefix", "encoding"),
    [
        ("X-Signature", "sha256=", "hex"),
        ("X-Hub-Signature-256", "sha256=", "hex"),
        ("X-Sig", "", "base64"),
    ],
)
def test_hmac_valid_and_tampered(header: str, prefix: str, encoding: str) -> None:
    verifier = HmacScheme(TEST_SECRET, header=header, prefix=prefix, encoding=encoding)
    headers = lower(verifier.signature(BODY, delivery_id="d", timestamp=0))
    assert verifier.verify(headers, BODY).verdict == VALID
    assert verifier.verify(headers, BODY[:-1]).verdict == BAD_SIGNATURE


def test_hmac_wrong_encoding_is_bad() -> None:
    headers = lower(
        HmacScheme(TEST_SECRET, encoding="base64").signature(BODY, delivery_id="d", timestamp=0)
    )
    assert HmacScheme(TEST_SECRET).verify(headers, BODY).verdict == BAD_SIGNATURE


def test_none_accepts_anything() -> None:
    assert NoScheme("").verify({}, b"not even json").verdict == VALID


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", signing.names())
def test_make_verifier_follows_the_scheme(scheme: str) -> None:
    verifier = make_verifier(SinkConfig(scheme=scheme, secret=TEST_SECRET))
    assert type(verifier) is signing.get(scheme)


def test_secret_required_unless_scheme_none() -> None:
    with pytest.raises(SettingsError, match="TIXALLO_WEBHOOK_SECRET"):
        SinkConfig(scheme="tixallo")
    assert SinkConfig(scheme="none").secret is None


def test_secret_not_in_repr() -> None:
    assert TEST_SECRET not in repr(SinkConfig(secret=TEST_SECRET))


@pytest.mark.parametrize(
    "changes",
    [
        {"path": "/"},
        {"path": "/_sink/x"},
        {"path": "hooks"},
        {"port": 70000},
        {"tolerance": 0},
        {"hmac_encoding": "b32"},
        {"scheme": "jwt"},
    ],
)
def test_bad_config_names_the_setting(changes: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        SinkConfig(secret=TEST_SECRET, **changes)  # type: ignore[arg-type]
