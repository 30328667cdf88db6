"""A synthetic run (failures with HTML in them, skips, SLOs, lags, planted secrets): for tests and previews."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from tixallo_qa.contracts._results import CheckResult
from tixallo_qa.load.slo import FAIL, PASS, SloRow

from ._model import LoadOutcome, Phase, RunRecord

KEY = "tq_live_SECRETKEY_abcdef123456"
WEBHOOK_SECRET = "whsec_SECRET_0123456789abcdef"
SAMPLE_SECRETS = (KEY, WEBHOOK_SECRET)

LOAD_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="600" height="200" viewBox="0 0 600 200">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#09f"/></linearGradient></defs>
  <script>alert(1)</script>
  <rect id="r" x="10" y="10" width="580" height="180" fill="url(#g)" onclick="alert(2)"/>
  <a href="https://example.com/track"><text x="20" y="40">latency over time</text></a>
</svg>
"""


def sample_record(tmp: Path, *, failing: bool = True) -> RunRecord:
    """A run with one failure (HTML in it), two skips, three SLOs and a spread of lags."""
    chart = tmp / "latency.svg"
    chart.write_text(LOAD_SVG, encoding="utf-8")
    locust_html = tmp / "locust.html"
    locust_html.write_text("<html>locust</html>", encoding="utf-8")
    rng = random.Random(7)
    checks = [
        CheckResult(
            "list_newest_first",
            "listing",
            "passed",
            duration=0.41,
            description="tickets come newest first",
        ),
        CheckResult("limit_bounds", "validation", "passed", duration=1.2),
        CheckResult("create_webhook_fires", "webhooks", "passed", duration=2.5),
        CheckResult(
            "isolation_get",
            "isolation",
            "skipped",
            "TIXALLO_OTHER_API_KEY is not set: set it to a key of a second workspace",
        ),
        CheckResult(
            "rate_limit_429",
            "rate-limit",
            "skipped",
            "needs TIXALLO_RATE_LIMIT_API_KEY (a spare key)",
        ),
    ]
    if failing:
        checks.append(
            CheckResult(
                "error_bodies",
                "errors",
                "failed",
                "404 body differs from the documented <script>alert('x')</script> body\n"
                '  expected: {"error": "Not found"}\n'
                '  actual:   {"error": "<b>not found</b>"}\n'
                "request #12:\n"
                f"  curl -i 'http://127.0.0.1:1/api/v1/tickets/x' -H 'Authorization: Bearer {KEY}'\n"
                'response:\n  HTTP 404\n  content-type: application/json\n\n  {"error": "<b>not found</b>"}',
                duration=0.2,
            )
        )
    slos = [
        SloRow("GET /tickets p95", "< 300 ms", "42 ms", PASS),
        SloRow("webhook lag p95", "< 2 s", "0.31 s", PASS),
        SloRow("error ratio", "< 1%", "2.5%" if failing else "0%", FAIL if failing else PASS),
    ]
    return RunRecord(
        target="http://127.0.0.1:1/api/v1",
        embedded=True,
        profile="smoke",
        started_at=datetime(2026, 5, 4, 10, 55, 2, tzinfo=UTC),
        duration=83.4,
        checks=checks,
        requests_sent=321,
        webhook_lags=[rng.lognormvariate(-3, 0.6) for _ in range(200)],
        webhook_verdicts={"valid": 198, "bad_signature": 2},
        load=LoadOutcome(
            ran=True,
            exit_code=1 if failing else 0,
            duration=20.3,
            slos=slos,
            charts=[chart],
            files=[locust_html],
        ),
        phases=[
            Phase("start", "passed", 0.7, "embedded reference deployment and sink"),
            Phase(
                "contracts",
                "failed" if failing else "passed",
                60.1,
                "3 passed, 1 failed, 2 skipped",
            ),
            Phase("load", "failed" if failing else "passed", 20.3),
        ],
        notes=[f"pool of 40 keys, first {KEY[:3]}…"],
        settings=[
            ("TIXALLO_BASE_URL", "http://127.0.0.1:1/api/v1"),
            ("TIXALLO_API_KEY", "1 key: key:0a1b2c3d"),
            ("TIXALLO_OTHER_API_KEY", "not set"),
        ],
    )
