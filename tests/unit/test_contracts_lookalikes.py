"""The lookalike generator: values only a lenient parser reads, derived from the spec, open ones marked."""

from __future__ import annotations

import contextlib
import json
import math
import random
import re

import pytest

from tixallo_qa.contracts import _lookalikes as lookalikes
from tixallo_qa.contracts import _spec
from tixallo_qa.contracts._lookalikes import OPEN, REJECT

pytestmark = pytest.mark.unit

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _lenient_readings(text: str) -> list[float]:
    """What common lenient parsers make of ``text``: parseInt, Number(), Python's int() and float()."""
    found = []
    m = re.match(r"\s*([+-]?[0-9]+)", text)
    if m:
        found.append(float(m.group(1)))  # parseInt
    stripped = text.strip()
    if stripped.lower().startswith("0x"):
        found.append(float(int(stripped, 16)))  # Number("0x5")
    for read in (int, float):
        with contextlib.suppress(ValueError):
            found.append(float(read(text)))
    if not stripped:
        found.append(math.nan)  # Number("") is 0: a lenient server falls back to its default
    return found


@pytest.mark.parametrize("seed", range(6))
def test_integer_lookalikes_are_what_a_lenient_parser_reads_as_a_valid_number(seed: int) -> None:
    schema = _spec.limit()
    cases = lookalikes.integer(schema, random.Random(seed))
    low, high = schema["minimum"], schema["maximum"]
    for case in cases:
        assert isinstance(case.value, str)
        if case.expect == REJECT:
            # Not the ASCII digits part B 7 asks for...
            assert not re.fullmatch(r"[0-9]+", case.value, re.ASCII), case
            # ...yet some lenient reading makes a number of the range of it (or the default).
            readings = _lenient_readings(case.value)
            assert any(math.isnan(r) or low <= r <= high for r in readings), case
    kinds = {c.kind for c in cases if c.expect == REJECT}
    assert {"trailing junk", "an exponent", "hexadecimal", "the empty value"} <= kinds
    # Exactly part B 7's open readings are left unasserted.
    open_kinds = {c.kind for c in cases if c.expect == OPEN}
    assert open_kinds == {"surrounding whitespace", "a leading +", "leading zeros"}


def test_integer_lookalikes_vary_from_run_to_run() -> None:
    values = {lookalikes.integer(_spec.limit(), random.Random(s))[0].value for s in range(20)}
    assert len(values) > 3
    a, b = lookalikes.repeated(_spec.limit(), random.Random(1))
    assert _spec.limit()["minimum"] <= a < b <= _spec.limit()["maximum"]


def test_field_lookalikes_follow_the_fields_schema() -> None:
    props = _spec.request_properties("CreateTicketRequest")
    priority = lookalikes.field("priority", props["priority"], required=False, valid="high")
    values = [c.value for c in priority if c.expect == REJECT]
    assert "HIGH" in values and " high" in values and "hig" in values and "high" not in values
    assert next(c for c in priority if c.value is None).expect == OPEN  # null for an optional field
    subject = lookalikes.field("subject", props["subject"], required=True, valid="a subject")
    assert next(c for c in subject if c.value is None).expect == REJECT
    assert {type(c.value) for c in subject} == {int, bool, list, type(None)}
    email = lookalikes.field(
        "customer_email", props["customer_email"], required=True, valid="a@b.io"
    )
    assert "Someone <a@b.io>" in [c.value for c in email if c.expect == REJECT]
    assert " a@b.io" in [c.value for c in email if c.expect == OPEN]
    assert lookalikes.field("n", {"type": "integer"}, required=True, valid="1") == []


def test_rounds_carry_each_asserted_lookalike_exactly_once_and_one_per_field() -> None:
    props = _spec.request_properties("CreateTicketRequest")
    cases = {
        n: lookalikes.field(n, s, required=n in _spec.required("CreateTicketRequest"), valid="high")
        for n, s in props.items()
    }
    rounds = lookalikes.rounds(cases)
    sent = [(n, repr(c.value)) for r in rounds for n, c in r.items()]
    wanted = [(n, repr(c.value)) for n, found in cases.items() for c in found if c.expect == REJECT]
    assert sorted(sent) == sorted(wanted)
    assert len(rounds) == max(len([c for c in f if c.expect == REJECT]) for f in cases.values())


def test_json_lookalikes_are_malformed_except_the_open_one() -> None:
    for case in lookalikes.json_text({"body": "hello", "n": 1}):
        if case.expect == REJECT:
            with pytest.raises(ValueError):
                json.loads(case.value)
        else:
            assert case.value.startswith("\ufeff")
    first = lookalikes.json_text({"body": "x"})[0].value
    assert json.JSONDecoder().raw_decode(first)[0] == {"body": "x"}  # a lenient reader takes it


def test_id_lookalikes_are_not_the_uuid_and_the_open_forms_are_marked() -> None:
    real = "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3"
    for case in lookalikes.ticket_id(real):
        assert not UUID.fullmatch(case.value)
        if case.expect == REJECT:
            assert real[:30] in case.value
    open_kinds = {c.kind for c in lookalikes.ticket_id(real) if c.expect == OPEN}
    assert open_kinds == {"upper case", "no hyphens", "braces", "braces, no hyphens", "a URN"}
    # Each open form holds every hex digit of the UUID: a lenient parser reads it as that UUID.
    for case in lookalikes.ticket_id(real):
        if case.expect == OPEN:
            assert re.sub(
                r"[^0-9a-f]", "", case.value.lower().removeprefix("urn:uuid:")
            ) == real.replace("-", "")


def test_a_lookalike_must_say_what_is_expected_of_it() -> None:
    with pytest.raises(ValueError, match="unknown expectation"):
        lookalikes.Lookalike("x", "kind", "maybe", "why")
