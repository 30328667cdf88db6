"""schemathesis 4 wiring: the spec loaded with our budgets and checks, sending only through the paced session."""

from __future__ import annotations

import functools
import random
from typing import TYPE_CHECKING, Any

from tixallo_qa.contracts._profiles import Budget
from tixallo_qa.contracts._transport import MAIN, OTHER, PacedSession, bearer
from tixallo_qa.core import tls
from tixallo_qa.core.settings import Settings
from tixallo_qa.core.spec import spec_path

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

# Built-in checks the suite runs on every generated response (issue 4, item 1).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "ignored_auth",
    "missing_required_header",
    "object_level_authorization",
)
# Valid data may still name a ticket that does not exist (404) or one that was merged (409);
# 401/429/5xx are never acceptable answers to a well-formed, authenticated request.
POSITIVE_EXPECTED = ["2xx", "404", "409"]
# Invalid data must be refused: 400 for a bad body or query, 404 for a non-UUID id (part B 8),
# 401 when the generated case drops or mangles the credentials.
NEGATIVE_EXPECTED = ["400", "401", "404"]


def config_dict(
    settings: Settings, budget: Budget, mode: str, seed: int | None = None
) -> dict[str, Any]:
    """The schemathesis configuration (the dict form of ``schemathesis.toml``)."""
    checks: dict[str, Any] = {"enabled": False}
    for name in CHECKS:
        checks[name] = {"enabled": True}
    checks["positive_data_acceptance"]["expected-statuses"] = POSITIVE_EXPECTED
    checks["negative_data_rejection"]["expected-statuses"] = NEGATIVE_EXPECTED
    return {
        # The same seed generates the same examples: a re-run or a replay sends what this one did.
        **({"seed": seed} if seed is not None else {}),
        "base-url": settings.base_url,
        "request-timeout": settings.request_timeout,
        # schemathesis passes verify= itself, which would override the session's CA bundle.
        "tls-verify": tls.requests_verify(settings.ca_bundle),
        "suppress-health-check": ["all"],
        "generation": {
            "mode": mode,
            "max-examples": budget.max_examples,
            "database": "none",
            # Shrinking re-sends many requests; a failing example is reported as found.
            "no-shrink": budget.name != "thorough",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": budget.coverage},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": budget.stateful_steps},
        },
        "checks": checks,
    }


# RFC 5321 limits every strict validator enforces: 64 characters before the @, 63 per domain
# label, 254 in all (the spec's maxLength of 255 is one more than a strict validator takes).
LOCAL_MAX, LABEL_MAX, EMAIL_MAX = 64, 63, 254
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_TOP = ("com", "org", "net", "io", "dev", "example")
# Addresses per bucket of the boundary-length pool (see ordinary_emails).
BUCKET = 16


def email_of_length(n: int, rng: random.Random) -> str | None:
    """An ordinary address of exactly ``n`` characters within the RFC 5321 limits, or None."""
    tops = [top for top in _TOP if n - len(top) - 2 >= 2]
    if not tops or n > EMAIL_MAX:
        return None
    top = rng.choice(tops)
    # local@labels.top, the labels (dots between them) carrying what the local part cannot.
    room = n - len(top) - 2  # the @ and the dot before the top-level label
    local_len = min(LOCAL_MAX, max(1, room // 3))
    span = room - local_len
    count = -(-(span + 1) // (LABEL_MAX + 1))  # labels of at most LABEL_MAX, a dot between two
    letters = span - (count - 1)
    sizes = [letters // count + (1 if i < letters % count else 0) for i in range(count)]

    def word(size: int) -> str:
        return "".join(rng.choice(_ALNUM) for _ in range(size))

    local = word(local_len)
    if local_len >= 3 and rng.random() < 0.5:  # first.last or first+tag, never at either end
        cut = rng.randrange(1, local_len - 1)
        local = local[:cut] + rng.choice(".+_-") + local[cut + 1 :]
    return f"{local}@{'.'.join(word(size) for size in sizes)}.{top}"


@functools.cache
def _emails_by_length() -> tuple[str, ...]:
    """Two ordinary addresses of every length a strict validator takes (fixed seed: reproducible)."""
    rng = random.Random(20261201)
    found = (email_of_length(n, rng) for n in range(1, EMAIL_MAX + 1) for _ in range(2))
    return tuple(e for e in found if e is not None)


def ordinary_emails() -> Any:
    """Addresses every reasonable validator accepts: ``first.last+tag@sub.example.com`` shapes.

    Drawn freely, or from addresses of every length up to the RFC 5321 254: schemathesis'
    boundary cases ask a format for exact lengths (the spec's maxLength and one under it) and
    can only filter a custom format's draws for them, which never lands for random short ones
    and cost ~4 s of the standard profile; a ``sampled_from`` is filtered exactly, and a
    length no strict validator takes fails at once.
    """
    from hypothesis import strategies as st

    alnum = _ALNUM
    atom = st.text(alphabet=alnum, min_size=1, max_size=12)
    local = st.builds(
        lambda first, sep, rest: first + (sep + rest if rest else ""),
        atom,
        st.sampled_from([".", "_", "-", "+"]),
        st.one_of(st.just(""), atom),
    )
    label = st.text(alphabet=alnum, min_size=1, max_size=10)
    domain = st.builds(
        lambda labels, top: ".".join([*labels, top]),
        st.lists(label, min_size=1, max_size=2),
        st.sampled_from(["com", "org", "net", "io", "dev", "example"]),
    )
    pool = _emails_by_length()
    # Small buckets of neighbouring lengths: a filtered sampled_from scans its whole list on
    # every attempt that misses, so one list of them all made an unreachable length cost 1.6 s.
    buckets = [pool[i : i + BUCKET] for i in range(0, len(pool), BUCKET)]
    return st.one_of(
        st.builds("{}@{}".format, local, domain), *(st.sampled_from(b) for b in buckets)
    )


class _IdentityAuth:
    """Puts the placeholder of one identity on a case; the paced session swaps in a real key."""

    def __init__(self, identity: str) -> None:
        self.identity = identity

    def get(self, case: Any, context: Any) -> str:
        return bearer(self.identity)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = data


def load(
    settings: Settings,
    budget: Budget,
    session: PacedSession,
    *,
    mode: str,
    seed: int | None = None,
) -> BaseSchema:
    """The spec as a schemathesis schema whose every request (probes too) uses ``session``."""
    import schemathesis
    from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport
    from schemathesis.wfc.escalation import EscalatingAuthProvider

    # Valid data must be valid for any faithful deployment. schemathesis draws RFC 5322
    # punctuation (!#$%&'*/=?^`{|}~) into local parts on purpose; the docs promise only a
    # "valid email", and widely used validators reject those, so a 400 there is no defect
    # worth failing a release on. Ordinary addresses still cover the length and format rules.
    schemathesis.openapi.format("email", ordinary_emails())
    config = schemathesis.Config.from_dict(config_dict(settings, budget, mode, seed))
    schema = schemathesis.openapi.from_path(spec_path(), config=config)

    class PacedTransport(RequestsTransport):
        """Sends with the paced session even where schemathesis passes none (auth probes)."""

        def send(self, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
            return super().send(
                case, session=session if session is not None else _session, **kwargs
            )

    _session = session
    transport = PacedTransport()
    transport._copy_serializers_from(REQUESTS_TRANSPORT)
    # The schema hands its transport to every check that re-sends a request; clones keep the class.
    schema.__class__ = type(
        "PacedOpenApiSchema", (type(schema),), {"transport": property(lambda self: transport)}
    )
    if OTHER in session.pools:
        # Two peers that must not see each other's tickets: object_level_authorization replays
        # the main workspace's reads as the other workspace.
        provider: Any = EscalatingAuthProvider(
            [_IdentityAuth(MAIN), _IdentityAuth(OTHER)],
            [MAIN, OTHER],
            peers=(MAIN, OTHER),
            pinned=MAIN,
        )
    else:
        provider = _IdentityAuth(MAIN)
    schema.auth.providers.append(provider)
    return schema
