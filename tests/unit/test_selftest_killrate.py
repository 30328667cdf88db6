"""Selftest maths: kill rate overall and per family, verdict merging, the pass/fail rule."""

from __future__ import annotations

import pytest

from tixallo_qa.selftest import (
    CAUGHT,
    CLEAN,
    ERROR,
    FALSE_ALARM,
    MISSED,
    FaultRow,
    SelftestResult,
    Verdict,
    by_family,
    kill_rate,
)
from tixallo_qa.selftest._killrate import KillRate, only_ours, summary
from tixallo_qa.selftest._ours import merge

pytestmark = pytest.mark.unit


def _row(name: str, family: str, ours: str, plain: str | None = None) -> FaultRow:
    return FaultRow(
        name,
        family,
        f"Planted bug: {name}",
        Verdict(ours, ("a-check",) if ours == CAUGHT else ()),
        Verdict(plain) if plain else None,
    )


ROWS = [
    _row("a1", "auth", CAUGHT, CAUGHT),
    _row("a2", "auth", CAUGHT, MISSED),
    _row("w1", "webhooks", CAUGHT, MISSED),
    _row("w2", "webhooks", MISSED, MISSED),
    _row("w3", "webhooks", ERROR, ERROR),
]


def test_kill_rate_counts_errors_as_missed() -> None:
    ours = kill_rate(ROWS, "ours")
    assert (ours.caught, ours.total) == (3, 5)
    assert ours.rate == pytest.approx(0.6)
    assert ours.text() == "3/5 (60.0%)"
    plain = kill_rate(ROWS, "plain")
    assert (plain.caught, plain.total) == (1, 5)


def test_per_family_in_catalogue_order() -> None:
    families = by_family(ROWS, "ours")
    assert list(families) == ["auth", "webhooks"]
    assert families["auth"] == KillRate(2, 2)
    assert families["webhooks"] == KillRate(1, 3)
    assert summary(ROWS)["plain"]["families"]["auth"] == {"caught": 1, "total": 2, "rate": 0.5}


def test_plain_not_run_is_left_out_and_empty_rate_is_none() -> None:
    rows = [_row("a1", "auth", CAUGHT), _row("a2", "auth", MISSED, CAUGHT)]
    assert kill_rate(rows, "plain") == KillRate(1, 1)
    assert kill_rate([], "ours").rate is None
    assert kill_rate([], "ours").text() == "-"
    with pytest.raises(ValueError, match="unknown tool"):
        kill_rate(rows, "other")


def test_only_ours_is_the_visible_gain() -> None:
    assert [r.fault for r in only_ours(ROWS)] == ["a2", "w1"]


def _result(rate_rows: list[FaultRow], faithful: str, minimum: float = 0.95) -> SelftestResult:
    return SelftestResult(
        rows=rate_rows,
        faithful=FaultRow("faithful", "-", "", Verdict(faithful)),
        min_kill_rate=minimum,
    )


def test_passes_only_with_a_clean_faithful_run_and_the_rate() -> None:
    all_caught = [_row(f"f{i}", "auth", CAUGHT) for i in range(19)] + [_row("m", "auth", MISSED)]
    assert _result(all_caught, CLEAN).passed  # 19/20 = 95%
    assert not _result(all_caught, FALSE_ALARM).passed
    assert not _result(all_caught, ERROR).passed
    assert not _result(all_caught, CLEAN, minimum=0.96).passed
    assert not SelftestResult(rows=all_caught).passed  # faithful not run
    assert not _result([], CLEAN).passed  # nothing run: no rate to meet the bar


def test_result_round_trips_through_json() -> None:
    result = _result(ROWS, CLEAN, 0.5)
    result.budgets = {"ours": "smoke"}
    data = result.to_dict()
    assert data["kill_rate"]["ours"]["overall"] == {"caught": 3, "total": 5, "rate": 0.6}
    assert data["passed"] is True
    again = SelftestResult.from_dict(data)
    assert again.rows == result.rows and again.faithful == result.faithful
    with pytest.raises(ValueError, match="version"):
        SelftestResult.from_dict({**data, "version": 99})


def test_merge_prefers_false_alarm_then_catch_then_error() -> None:
    caught = Verdict(CAUGHT, ("load: error ratio",), ("load",), "why", 2.0, 5)
    assert merge(Verdict(MISSED, duration=1.0), caught).status == CAUGHT
    assert merge(Verdict(MISSED), caught).checks == ("load: error ratio",)
    assert merge(Verdict(MISSED), Verdict(ERROR)).status == ERROR
    assert merge(Verdict(CLEAN), Verdict(FALSE_ALARM)).status == FALSE_ALARM
    assert merge(Verdict(CLEAN), Verdict(CLEAN)).status == CLEAN
    assert merge(Verdict(CAUGHT, ("x",), ("auth",)), None).checks == ("x",)
    both = merge(Verdict(CAUGHT, ("x",), ("auth",), duration=1.0, requests=3), caught)
    assert both.families == ("auth", "load") and both.duration == 3.0 and both.requests == 8


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown verdict"):
        Verdict("maybe")
