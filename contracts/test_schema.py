"""Property-based tests generated from the spec by schemathesis 4 (family: schema)."""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis

from tixallo_qa.contracts._catalogue import check, late
from tixallo_qa.contracts._profiles import Budget

positive = schemathesis.pytest.from_fixture("positive_schema")
negative = schemathesis.pytest.from_fixture("negative_schema")


@late
@check(
    "schema-positive",
    "schema",
    "valid generated requests to every operation are accepted and answered as the spec says",
)
@positive.parametrize()
def test_schema_positive(case: Any) -> None:
    case.call_and_validate()


@late
@check(
    "schema-negative",
    "schema",
    "invalid generated requests to every operation are rejected as the spec says",
)
@negative.parametrize()
def test_schema_negative(case: Any) -> None:
    case.call_and_validate()


@late
@check(
    "schema-stateful",
    "schema",
    "sequences through the spec's links (create, then get / add message) conform, and the other workspace cannot read them",
)
def test_schema_stateful(positive_schema: Any, budget: Budget) -> None:
    machine = positive_schema.as_state_machine()
    machine.run(
        settings=hypothesis.settings(
            max_examples=budget.stateful_examples,
            stateful_step_count=budget.stateful_steps,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.generate],
        )
    )
