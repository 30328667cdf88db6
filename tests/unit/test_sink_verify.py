"""Signature schemes (tixallo_qa.core.signing) and the sink's verifier: valid, tampered, stale, broken."""

from __future__ import annotations

import base64

import pytest

from tixallo_qa.core import signing
from tixallo_qa.core.settings import SettingsError
from tixallo_qa.core.signing import BAD_SIGNATURE, MISSING_HEADERS, STALE_TIMESTAMP, VALID
from tixallo_qa.core.signing.body_hmac import HmacScheme
from tixallo_qa.core.signing.none import NoScheme
from tixallo_qa.core.signing.standard import StandardScheme
from tixallo_qa.core.signing.tixallo import TixalloScheme
from tixallo_qa.webhook_sink.config import SinkConfig
from tixallo_qa.webhook_sink.testing import TEST_SECRET
from tixallo_qa.webhook_sink.verify import make_verifier

pytestmark = pytest.mark.unit

NOW = 1_800_000_000
BODY = b'{"event_type": "ticket.created", "ticket_id": "t-1"}'


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def sign_tixallo(secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    return TixalloScheme(secret).signature(body, delivery_id="d", timestamp=timestamp)


def sign_standard(secret: str, body: bytes, *, msg_id: str, timestamp: int) -> dict[str, str]:
    return StandardScheme(secret).signature(body, delivery_id=msg_id, timestamp=timestamp)


def sign_hmac(
    secret: str,
    body: bytes,
    *,
    header: str = "X-Signature",
    prefix: str = "sha256=",
    encoding: str = "hex",
) -> dict[str, str]:
    scheme = HmacScheme(secret, header=header, prefix=prefix, encoding=encoding)
    return scheme.signature(body, delivery_id="d", timestamp=0)


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
        assert scheme.verify(other, BODY, now=NOW).verdict == BAD_SIGNATURE
        assert {h.lower() for h in scheme.signature_headers} <= set(headers)


# -- Tixallo scheme (part B 1) ---------------------------------------------------------------
@pytest.fixture
def tixallo() -> TixalloScheme:
    return TixalloScheme(TEST_SECRET, tolerance=300)


def test_tixallo_valid(tixallo: TixalloScheme) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    assert headers["x-tixallo-signature"].startswith("sha256=")
    assert tixallo.verify(headers, BODY, now=NOW).verdict == VALID


def test_tixallo_tampered_body(tixallo: TixalloScheme) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    assert tixallo.verify(headers, BODY.replace(b"t-1", b"t-2"), now=NOW).verdict == BAD_SIGNATURE


def test_tixallo_wrong_secret(tixallo: TixalloScheme) -> None:
    headers = lower(sign_tixallo("another secret", BODY, timestamp=NOW))
    check = tixallo.verify(headers, BODY, now=NOW)
    assert check.verdict == BAD_SIGNATURE
    assert TEST_SECRET not in check.detail


def test_tixallo_timestamp_is_signed(tixallo: TixalloScheme) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    headers["x-tixallo-timestamp"] = str(NOW + 1)
    assert tixallo.verify(headers, BODY, now=NOW).verdict == BAD_SIGNATURE


@pytest.mark.parametrize(
    "offset", [-301, 301, -86_400, 86_400], ids=["stale", "future", "day-old", "day-ahead"]
)
def test_tixallo_timestamp_outside_tolerance(tixallo: TixalloScheme, offset: int) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW + offset))
    check = tixallo.verify(headers, BODY, now=NOW)
    assert check.verdict == STALE_TIMESTAMP
    assert ("future" in check.detail) == (offset > 0)


@pytest.mark.parametrize("offset", [-299, 299])
def test_tixallo_timestamp_inside_tolerance(tixallo: TixalloScheme, offset: int) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW + offset))
    assert tixallo.verify(headers, BODY, now=NOW).verdict == VALID


def test_tixallo_tolerance_is_configurable() -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW - 20))
    assert (
        TixalloScheme(TEST_SECRET, tolerance=10).verify(headers, BODY, now=NOW).verdict
        == STALE_TIMESTAMP
    )


@pytest.mark.parametrize("missing", ["x-tixallo-timestamp", "x-tixallo-signature"])
def test_tixallo_missing_header(tixallo: TixalloScheme, missing: str) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    del headers[missing]
    check = tixallo.verify(headers, BODY, now=NOW)
    assert check.verdict == MISSING_HEADERS
    assert missing in check.detail.lower()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-tixallo-timestamp", "yesterday"),
        ("x-tixallo-timestamp", "-5"),
        ("x-tixallo-signature", "md5=abc"),
        ("x-tixallo-signature", "sha256="),
        ("x-tixallo-signature", "deadbeef"),
    ],
)
def test_tixallo_malformed_header(tixallo: TixalloScheme, name: str, value: str) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    headers[name] = value
    assert tixallo.verify(headers, BODY, now=NOW).verdict == MISSING_HEADERS


def test_tixallo_signature_not_hex_is_bad(tixallo: TixalloScheme) -> None:
    headers = lower(sign_tixallo(TEST_SECRET, BODY, timestamp=NOW))
    headers["x-tixallo-signature"] = "sha256=" + "é" * 64
    assert tixallo.verify(headers, BODY, now=NOW).verdict == BAD_SIGNATURE


# -- Standard Webhooks -----------------------------------------------------------------------
@pytest.fixture
def standard() -> StandardScheme:
    return StandardScheme(TEST_SECRET, tolerance=300)


def test_standard_valid(standard: StandardScheme) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="msg_1", timestamp=NOW)
    assert headers["webhook-signature"].startswith("v1,")
    assert standard.verify(headers, BODY, now=NOW).verdict == VALID


def test_standard_key_is_the_decoded_whsec_secret() -> None:
    # Known vector: HMAC-SHA256 over "<id>.<ts>.<body>" with base64-decoded key bytes.
    key = base64.b64decode(TEST_SECRET.removeprefix("whsec_"))
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1800000000." + BODY, hashlib.sha256).digest()
    ).decode()
    assert (
        sign_standard(TEST_SECRET, BODY, msg_id="msg_1", timestamp=NOW)["webhook-signature"]
        == f"v1,{expected}"
    )


def test_standard_accepts_a_raw_secret() -> None:
    verifier = StandardScheme("plain-secret", tolerance=300)
    headers = sign_standard("plain-secret", BODY, msg_id="msg_1", timestamp=NOW)
    assert verifier.verify(headers, BODY, now=NOW).verdict == VALID


def test_standard_any_of_several_signatures(standard: StandardScheme) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="msg_1", timestamp=NOW)
    headers["webhook-signature"] = "v1,bm90IGl0 v2,whatever " + headers["webhook-signature"]
    assert standard.verify(headers, BODY, now=NOW).verdict == VALID


def test_standard_tampered_body(standard: StandardScheme) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="msg_1", timestamp=NOW)
    assert standard.verify(headers, BODY + b" ", now=NOW).verdict == BAD_SIGNATURE


def test_standard_id_is_signed(standard: StandardScheme) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="msg_1", timestamp=NOW)
    headers["webhook-id"] = "msg_2"
    assert standard.verify(headers, BODY, now=NOW).verdict == BAD_SIGNATURE


def test_standard_wrong_secret(standard: StandardScheme) -> None:
    headers = sign_standard(
        "whsec_" + base64.b64encode(b"other key").decode(), BODY, msg_id="m", timestamp=NOW
    )
    assert standard.verify(headers, BODY, now=NOW).verdict == BAD_SIGNATURE


@pytest.mark.parametrize("offset", [-301, 301], ids=["stale", "future"])
def test_standard_timestamp_outside_tolerance(standard: StandardScheme, offset: int) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="m", timestamp=NOW + offset)
    assert standard.verify(headers, BODY, now=NOW).verdict == STALE_TIMESTAMP


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_missing_header(standard: StandardScheme, missing: str) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="m", timestamp=NOW)
    del headers[missing]
    assert standard.verify(headers, BODY, now=NOW).verdict == MISSING_HEADERS


@pytest.mark.parametrize(
    ("name", "value"),
    [("webhook-signature", "v2,abc"), ("webhook-signature", "v1,"), ("webhook-timestamp", "1.5e9")],
)
def test_standard_malformed_header(standard: StandardScheme, name: str, value: str) -> None:
    headers = sign_standard(TEST_SECRET, BODY, msg_id="m", timestamp=NOW)
    headers[name] = value
    assert standard.verify(headers, BODY, now=NOW).verdict == MISSING_HEADERS


# -- body-only HMAC --------------------------------------------------------------------------
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
    headers = lower(sign_hmac(TEST_SECRET, BODY, header=header, prefix=prefix, encoding=encoding))
    assert verifier.verify(headers, BODY).verdict == VALID
    assert verifier.verify(headers, BODY[:-1]).verdict == BAD_SIGNATURE


def test_hmac_wrong_secret() -> None:
    verifier = HmacScheme(TEST_SECRET)
    assert verifier.verify(lower(sign_hmac("other", BODY)), BODY).verdict == BAD_SIGNATURE


def test_hmac_wrong_encoding_is_bad() -> None:
    verifier = HmacScheme(TEST_SECRET)
    headers = lower(sign_hmac(TEST_SECRET, BODY, encoding="base64"))
    assert verifier.verify(headers, BODY).verdict == BAD_SIGNATURE


def test_hmac_missing_and_malformed_header() -> None:
    verifier = HmacScheme(TEST_SECRET)
    assert verifier.verify({}, BODY).verdict == MISSING_HEADERS
    assert verifier.verify({"x-signature": "sha1=abcd"}, BODY).verdict == MISSING_HEADERS


def test_none_accepts_anything() -> None:
    assert NoScheme("").verify({}, b"not even json").verdict == VALID


# -- configuration ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scheme", "kind"),
    [
        ("tixallo", TixalloScheme),
        ("standard", StandardScheme),
        ("hmac", HmacScheme),
        ("none", NoScheme),
    ],
)
def test_make_verifier_follows_the_scheme(scheme: str, kind: type) -> None:
    assert isinstance(make_verifier(SinkConfig(scheme=scheme, secret=TEST_SECRET)), kind)


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
