"""Contract suite: wall time of the ``standard`` profile beside a plain ``st run`` with the same budget.

Both run against one reference deployment (embedded, rate limit off so neither waits on a
limiter the other does not know about, webhooks to our sink): the suite through
``contracts.runner.run_suite`` (a pytest child), schemathesis through its own CLI with
``--checks all``. The same example budget: the suite generates the profile's ``max_examples``
per operation in each mode (a positive and a negative run), while ``st run -n N`` (``--mode
all``) draws its N examples per operation from positive and negative together
(``schemathesis.generation.hypothesis.builder._fuzzing_strategy``: one ``one_of`` over the
modes), so ``st`` gets ``-n 2 x max_examples``; a row with ``-n max_examples`` (half the
suite's generated budget) is kept beside it. Requests/s: the suite counts what its paced
session sent; ``st`` is counted from its HAR report. A third row is what a user gets from
``tixallo-qa contracts`` with no target: the embedded deployment at its default 60 requests a
minute per key, paced over the seeded key pool.

    .venv/bin/python -m bench.contracts [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import ROOT, fmt, machine_line, middle, table, title

SPEC = ROOT / "openapi" / "tixallo-v1.yaml"


def run_st(base_url: str, key: str, max_examples: int, workdir: Path, timeout: float) -> dict[str, Any]:  # fmt: skip
    """``st run <spec> --checks all -n <max_examples>``; requests counted from its HAR file."""
    har = workdir / "st.har"
    cmd = [
        str(Path(sys.executable).with_name("st")), "run", str(SPEC), "--url", base_url,
        "--checks", "all", "--max-examples", str(max_examples), "--seed", "1",
        "-H", f"Authorization: Bearer {key}", "--report", "har", "--report-har-path", str(har),
        "--workers", "1",
    ]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=str(workdir), check=False
        )
        code, out = done.returncode, done.stdout
    except subprocess.TimeoutExpired:
        code, out = -1, f"st run did not finish within {timeout:g} s"
    wall = time.monotonic() - started
    try:
        requests = len(json.loads(har.read_text())["log"]["entries"])
    except (OSError, ValueError, KeyError):
        requests = 0
    lines = [line.strip(" =") for line in out.splitlines() if line.strip(" =")]
    # schemathesis ends with a line like "No issues found in 3.47s" or "N failures in ...".
    tail = [line for line in lines if " in " in line and line[-1:] == "s"][-1:] or lines[-1:]
    return {"wall": wall, "requests": requests, "exit_code": code, "tail": tail}


def run_contracts(settings: Any, profile: str, timeout: float) -> dict[str, Any]:
    from tixallo_qa.contracts.runner import run_suite

    started = time.monotonic()
    result = run_suite(settings, profile=profile, timeout=timeout)
    return {
        "wall": time.monotonic() - started,
        "requests": result.requests_sent,
        "counts": result.counts,
        "exit_code": result.exit_code,
        "errors": [e[:300] for e in result.errors],
    }


def run(profile: str, timeout: float, default_row: bool, repeats: int = 3) -> dict[str, Any]:
    from tixallo_qa.contracts._profiles import budget
    from tixallo_qa.core.settings import Settings
    from tixallo_qa.target import Target

    max_examples = budget(profile).max_examples
    results: dict[str, Any] = {"profile": profile, "max_examples": max_examples}
    with tempfile.TemporaryDirectory(prefix="bench-contracts-") as tmp:
        embedded = Target.start(Settings(), rate_limit=0)
        try:
            s = embedded.settings.replace(profile=profile)
            assert s.base_url is not None
            # Alternated pairs: one pair's ratio moves with whatever else the machine runs; the
            # median pair is the figure.
            pairs = []
            for _ in range(repeats):
                suite = run_contracts(s, profile, timeout)
                st = run_st(s.base_url, s.api_keys[0], 2 * max_examples, Path(tmp), timeout)
                half = run_st(s.base_url, s.api_keys[0], max_examples, Path(tmp), timeout)
                ratio = suite["wall"] / st["wall"] if st["wall"] else math.inf
                pairs.append((ratio, suite, st, half))
            pairs.sort(key=lambda p: p[0])
            _, results["suite"], results["st"], results["st_half"] = pairs[len(pairs) // 2]
            results["ratios"] = [p[0] for p in pairs]
            results["half_ratios"] = sorted(
                p[1]["wall"] / p[3]["wall"] if p[3]["wall"] else math.inf for p in pairs
            )
        finally:
            embedded.stop()
        if default_row:
            results["default"] = run_contracts(Settings(profile=profile), profile, timeout)
    return results


def report(r: dict[str, Any]) -> None:
    title("Contract suite")
    print(
        f"Profile `{r['profile']}` (max_examples={r['max_examples']} per operation and mode) "
        f"against the reference deployment. {machine_line()}.\n"
    )
    su, st, half = r["suite"], r["st"], r.get("st_half")

    def outcome(f: dict[str, Any]) -> str:
        if "counts" in f:
            c = f["counts"]
            text = f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
            return text + (f"; errors: {f['errors'][0][:80]}" if f["errors"] else "")
        return f"exit {f['exit_code']}: {' / '.join(f['tail'])[:120]}"

    def rps(f: dict[str, Any]) -> str:
        return fmt(f["requests"] / f["wall"], 1) if f["wall"] else "-"

    rows = [
        ["tixallo-qa contracts (rate limit off)", fmt(su["wall"], 1), str(su["requests"]), rps(su), "1.00", outcome(su)],
        [
            f"st run --checks all -n {2 * r['max_examples']} (schemathesis CLI, the same budget)",
            fmt(st["wall"], 1), str(st["requests"]), rps(st),
            fmt(su["wall"] / st["wall"], 2) if st["wall"] else "-", outcome(st),
        ],
    ]  # fmt: skip
    if half is not None:
        rows.append(
            [
                f"st run --checks all -n {r['max_examples']} (half the suite's generated budget)",
                fmt(half["wall"], 1), str(half["requests"]), rps(half),
                fmt(su["wall"] / half["wall"], 2) if half["wall"] else "-", outcome(half),
            ]
        )  # fmt: skip
    if "default" in r:
        d = r["default"]
        rows.append(
            ["tixallo-qa contracts, no target (60/min per key, 200 keys)", fmt(d["wall"], 1), str(d["requests"]), rps(d), "", outcome(d)]
        )  # fmt: skip
    print(
        table(
            ["run", "wall s", "requests", "requests/s", "suite wall / this wall", "outcome"], rows
        )
    )
    print(
        f"\nThe same budget: the suite generates {r['max_examples']} examples per operation in "
        f"each mode (positive, negative); `st run -n N` draws its N per operation from both "
        f"modes together, so it gets -n {2 * r['max_examples']}. The suite does more than "
        "`st run`: named invariants, webhook checks through the sink, isolation, rate-limit and "
        "error-body checks, and schemathesis' auth probes after every accepted generated request "
        "(`st` confirms them once per operation); the ratio is the price of that, and of its "
        "pytest child process."
    )
    ratios = r.get("ratios") or []
    if len(ratios) > 1:
        mid, listed = middle(ratios)
        print(
            f"\nSuite wall / `st run` wall: **{mid:.2f}**, the median of "
            f"{len(ratios)} pairs run back to back ({listed}); the rows above are that pair."
        )
    if r.get("half_ratios"):
        mid, listed = middle(r["half_ratios"])
        print(
            f"Against `st run -n {r['max_examples']}` (half the generated budget): "
            f"{mid:.2f} ({listed})."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.contracts", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--timeout", type=float, default=240.0, help="per run, seconds")
    parser.add_argument("--no-default", action="store_true", help="skip the default-settings row")
    parser.add_argument("--repeats", type=int, default=3, help="suite / st pairs (median)")
    parser.add_argument("--quick", action="store_true", help="the smoke profile, two rows")
    args = parser.parse_args(argv)
    if args.quick:
        args.profile, args.no_default, args.repeats = "smoke", True, 1
    try:
        import tixallo_qa.contracts.runner  # noqa: F401
    except ImportError as exc:
        title("Contract suite")
        print(f"pending: contracts.runner cannot be imported ({exc})")
        return 0
    report(run(args.profile, args.timeout, not args.no_default, max(1, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
