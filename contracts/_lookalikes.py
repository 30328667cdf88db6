"""Lookalike inputs: the values a lenient parser would take, derived from the spec's parameters and fields.

Besides the random data schemathesis generates, every parameter and body field gets the values
that only a lenient reading accepts: trailing junk, decimals and exponents, signs, padding, the
empty value, repeated parameters, numbers given as strings and strings as numbers. Each
lookalike says what a faithful deployment must answer (``REJECT``: the spec or part B makes it a
400, or a 404 for an id) or that the docs leave it open (``OPEN``: never sent as an assertion,
so the suite cannot cry wolf where a faithful deployment may differ from ours).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

REJECT, OPEN = "reject", "open"
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@dataclass(frozen=True)
class Lookalike:
    """One value to send, what kind of leniency it probes, and what must come of it."""

    value: Any
    kind: str
    expect: str
    why: str

    def __post_init__(self) -> None:
        if self.expect not in (REJECT, OPEN):
            raise ValueError(f"unknown expectation {self.expect!r}")


def integer(schema: dict[str, Any], rng: random.Random | None = None) -> list[Lookalike]:
    """A query parameter of type integer: every way to write a valid number that is not ASCII digits.

    The number itself is drawn from the parameter's range, so no planted fault can be tuned to it.
    """
    rng = rng or random.Random()
    low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 50))
    # One digit (so other scripts' digits stay one character) inside the range, not the default.
    choices = [v for v in range(max(low, 1), min(high, 9) + 1) if v != schema.get("default")]
    v = rng.choice(choices or [low])
    tens = rng.choice([t for t in range(1, 10) if low <= t * 10 <= high] or [1])
    b7 = "part B 7: an integer is written in ASCII decimal digits"
    reject = [
        (f"{v}abc", "trailing junk"),
        (f"{v},{v}", "a list"),
        (f"{v}.0", "a decimal equal to an integer"),
        (f"{v}.5", "a decimal"),
        (f"{v}e0", "an exponent"),
        (f"{tens}e1", "an exponent"),
        (f"0x{v:x}", "hexadecimal"),
        (f"1_{v}", "digit grouping"),
        (str(v).translate(_ARABIC_INDIC), "Arabic-Indic digits"),
        (str(v).translate(_FULLWIDTH), "fullwidth digits"),
        ("", "the empty value"),
    ]
    if rng.random() < 0.5:
        reject[8] = (str(v).translate(_DEVANAGARI), "Devanagari digits")
    found = [Lookalike(value, kind, REJECT, b7) for value, kind in reject]
    open_b7 = "part B 7 leaves it open"
    found += [
        Lookalike(f" {v}", "surrounding whitespace", OPEN, open_b7),
        Lookalike(f"{v} ", "surrounding whitespace", OPEN, open_b7),
        Lookalike(f"+{v}", "a leading +", OPEN, open_b7),
        Lookalike(f"0{v}", "leading zeros", OPEN, open_b7),
    ]
    return found


def repeated(schema: dict[str, Any], rng: random.Random | None = None) -> tuple[int, int]:
    """Two valid values for one parameter given twice (part B 7: which one counts is open)."""
    rng = rng or random.Random()
    low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 50))
    first = rng.randint(max(low, 2), min(high, 4))
    return first, first + 1


def field(name: str, schema: dict[str, Any], *, required: bool, valid: str) -> list[Lookalike]:
    """A string body field: other JSON types, and the near-misses of an enum or an email.

    ``valid`` is a value the field accepts, so a lookalike differs from it only in its reading.
    """
    if schema.get("type") != "string":
        return []
    spec = "the spec's type: string"
    found = [
        Lookalike(len(valid) or 1, "a number for a string", REJECT, spec),
        Lookalike(True, "a boolean for a string", REJECT, spec),
        Lookalike([valid], "an array of the value", REJECT, spec),
        Lookalike(
            None,
            "null",
            REJECT if required else OPEN,
            "a required field" if required else "the docs do not say whether null means absent",
        ),
    ]
    for member in schema.get("enum", []):
        if member != valid:
            continue
        exact = "the spec's enum (exact values)"
        variants = [
            (member.upper(), "another case"),
            (member.capitalize(), "another case"),
            (f" {member}", "padding"),
            (f"{member} ", "padding"),
            (member[:-1], "a prefix"),
        ]
        found += [Lookalike(v, kind, REJECT, exact) for v, kind in variants if v != member]
    if schema.get("format") == "email":
        email = "the spec's format: email"
        found += [
            Lookalike(f"Someone <{valid}>", "an address with a display name", REJECT, email),
            Lookalike(f"mailto:{valid}", "a mailto: URI", REJECT, email),
            Lookalike(f"{valid}>", "trailing junk", REJECT, email),
            Lookalike(f" {valid}", "padding", OPEN, "the docs do not say whether it is trimmed"),
        ]
    return found


def rounds(cases: dict[str, list[Lookalike]]) -> list[dict[str, Lookalike]]:
    """Lookalikes grouped so that one request carries one per field: round i holds each field's i-th."""
    asserted = {name: [c for c in found if c.expect == REJECT] for name, found in cases.items()}
    depth = max((len(found) for found in asserted.values()), default=0)
    return [
        {name: found[i] for name, found in asserted.items() if i < len(found)} for i in range(depth)
    ]


def json_text(body: dict[str, Any]) -> list[Lookalike]:
    """Request bodies only a lenient JSON reader takes (RFC 8259 makes each one malformed)."""
    text = json.dumps(body)
    rfc = "RFC 8259: malformed JSON is a 400"
    single = "{" + ", ".join(f"'{k}': {json.dumps(v)}" for k, v in body.items()) + "}"
    return [
        Lookalike(text + ' {"more": 1}', "trailing junk: a second value", REJECT, rfc),
        Lookalike(text[:-1] + ",}", "a trailing comma", REJECT, rfc),
        Lookalike(single, "single-quoted keys", REJECT, rfc),
        Lookalike(text[:-1] + " /* note */}", "a comment", REJECT, rfc),
        Lookalike("\ufeff" + text, "a byte order mark", OPEN, "RFC 8259 lets a parser ignore it"),
    ]


def ticket_id(real: str) -> list[Lookalike]:
    """A real ticket's id in forms that are not that UUID (part B 8: 404 or 400, never the ticket).

    The open forms are ones a lenient UUID parser reads as that very UUID: a deployment may
    answer the ticket, 404 or 400, but never a 5xx (part B 8).
    """
    b8 = "part B 8: an id that is not a UUID is 404 or 400"
    return [
        Lookalike(real + "abc", "trailing junk", REJECT, b8),
        Lookalike(real + "0", "one more digit", REJECT, b8),
        Lookalike(real[:-1], "one digit short", REJECT, b8),
        Lookalike(
            real.upper(), "upper case", OPEN, "the docs do not say whether ids are case-blind"
        ),
        Lookalike(real.replace("-", ""), "no hyphens", OPEN, "many UUID parsers take it"),
        Lookalike("{" + real + "}", "braces", OPEN, "many UUID parsers take it"),
        Lookalike(
            "{" + real.replace("-", "") + "}", "braces, no hyphens", OPEN, "Postgres' uuid takes it"
        ),
        Lookalike("urn:uuid:" + real, "a URN", OPEN, "RFC 9562's URN form; many parsers take it"),
    ]
