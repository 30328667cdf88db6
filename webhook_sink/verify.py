"""The sink's verdicts on a delivery, and its verifier: the configured scheme from the registry."""

from __future__ import annotations

from tixallo_qa.core import signing
from tixallo_qa.core.signing import BAD_SIGNATURE, MISSING_HEADERS, STALE_TIMESTAMP, VALID
from tixallo_qa.webhook_sink.config import SinkConfig

MALFORMED_JSON = "malformed_json"
TOO_LARGE = "too_large"
WRONG_CONTENT_TYPE = "wrong_content_type"
VERDICTS = (
    VALID,
    BAD_SIGNATURE,
    STALE_TIMESTAMP,
    MISSING_HEADERS,
    MALFORMED_JSON,
    TOO_LARGE,
    WRONG_CONTENT_TYPE,
)
# What the sink answers for each verdict.
STATUS = {
    VALID: 200,
    BAD_SIGNATURE: 401,
    STALE_TIMESTAMP: 401,
    MISSING_HEADERS: 400,
    MALFORMED_JSON: 400,
    TOO_LARGE: 413,
    WRONG_CONTENT_TYPE: 415,
}
# Where a delivery's id and event type travel (part B 1; Standard Webhooks puts the id in webhook-id).
EVENT_HEADER = "x-tixallo-event"
DELIVERY_HEADERS = ("x-tixallo-delivery", "webhook-id")


def make_verifier(config: SinkConfig) -> signing.Scheme:
    """The scheme of ``config.scheme``, with the sink's secret, tolerance and hmac options."""
    options = (
        {
            "header": config.hmac_header,
            "prefix": config.hmac_prefix,
            "encoding": config.hmac_encoding,
        }
        if config.scheme == "hmac"
        else {}
    )
    return signing.make(config.scheme, config.secret, config.tolerance, options)
