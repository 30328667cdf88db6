"""What fails a release: a run's failures after the baseline and the flaky re-runs have spoken.

A failure listed in the baseline (same check, same fingerprint, not expired) becomes a *known*
failure: shown everywhere, failing nothing. A check that failed and then passed when the suite
ran again is *flaky*: shown with both outcomes, failing the run only with ``--fail-on-flaky``.
Everything else that failed fails the run, as before.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tixallo_qa.baseline import LOAD_PREFIX, Baseline, Failure, Judgement
from tixallo_qa.contracts._results import FAILED, FLAKY, KNOWN, PASSED, CheckResult
from tixallo_qa.load.slo import KNOWN_SLO, PASS, SloRow


@dataclass
class Gate:
    """How a run is judged: against a baseline or not, and whether flaky checks fail it."""

    baseline: Baseline | None = None
    fail_on_flaky: bool = False
    judgement: Judgement | None = None

    def _judge(self, failures: list[Failure], passed: set[str], *, load: bool) -> Judgement:
        assert self.baseline is not None
        judged = self.baseline.judge(failures, passed, load=load)
        if self.judgement is None:
            self.judgement = Judgement()
        self.judgement.extend(judged)
        return judged

    def apply_checks(self, checks: Sequence[CheckResult]) -> list[CheckResult]:
        """The checks with their baselined failures marked known (``KNOWN``)."""
        if self.baseline is None:
            return list(checks)
        failures = [Failure(c.name, c.message) for c in checks if c.outcome == FAILED]
        judged = self._judge(failures, {c.name for c in checks if c.outcome == PASSED}, load=False)
        known = {(f.check, f.fingerprint): e for f, e in judged.known}
        expired = {(f.check, f.fingerprint): e for f, e in judged.expired}
        out = []
        for c in checks:
            key = (c.name, Failure(c.name, c.message).fingerprint)
            if c.outcome == FAILED and key in known:
                entry = known[key]
                note = f"known failure (baseline, until {entry.expires}: {entry.reason})"
                c = dataclasses.replace(c, outcome=KNOWN, note=note)
            elif c.outcome == FAILED and key in expired:
                note = f"the baseline entry for this failure expired on {expired[key].expires}: it fails the run again"
                c = dataclasses.replace(c, note=note)
            out.append(c)
        return out

    def apply_slos(self, slos: Sequence[SloRow]) -> list[SloRow]:
        """The SLO rows with their baselined breaches marked known."""
        if self.baseline is None:
            return list(slos)
        name = {id(s): LOAD_PREFIX + s.slo for s in slos}
        failures = [Failure(name[id(s)], f"{s.slo} breached") for s in slos if s.failed]
        passed = {name[id(s)] for s in slos if s.verdict == PASS}
        known = {
            (f.check, f.fingerprint): e for f, e in self._judge(failures, passed, load=True).known
        }
        out = []
        for s in slos:
            key = (name[id(s)], Failure(name[id(s)], f"{s.slo} breached").fingerprint)
            if s.failed and key in known:
                s = dataclasses.replace(
                    s, verdict=KNOWN_SLO, detail=f"known (baseline: {known[key].reason})"
                )
            out.append(s)
        return out

    def flaky_fails(self, checks: Iterable[CheckResult]) -> bool:
        """Flaky checks fail the run only when asked to."""
        return self.fail_on_flaky and any(c.outcome == FLAKY for c in checks)

    def lines(self) -> list[str]:
        """What the baseline made of the run, for the console and the report."""
        j = self.judgement
        if j is None:
            return []
        out = [
            f"baseline: {len(j.new)} new failure(s), {len(j.known)} known, "
            f"{len(j.expired)} expired (failing again), {len(j.fixed)} fixed"
        ]
        out += [f"  fixed (now passes; remove it from the baseline): {e.check}" for e in j.fixed]
        out += [f"  expired on {e.expires}: {e.check}" for _, e in j.expired]
        return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--baseline, --reruns and --fail-on-flaky (shared with ``tixallo-qa run``)."""
    group = parser.add_argument_group("gating (baselines and flaky checks)")
    group.add_argument(
        "--baseline",
        metavar="FILE",
        help="fail only on failures this baseline does not list (tixallo-qa baseline write)",
    )
    group.add_argument(
        "--reruns",
        type=int,
        default=1,
        metavar="N",
        help="when checks fail, run the suite again up to N times (same seed): a check that "
        "passes then is flaky (default 1; 0 = off)",
    )
    group.add_argument(
        "--no-rerun", dest="reruns", action="store_const", const=0, help="same as --reruns 0"
    )
    group.add_argument(
        "--fail-on-flaky", action="store_true", help="a flaky check fails the run too"
    )
    group.add_argument(
        "--seed", type=int, metavar="N", help="seed of the generated checks (default random)"
    )


def load_gate(path: str | None, *, fail_on_flaky: bool = False) -> Gate:
    """The gate of a command's ``--baseline`` and ``--fail-on-flaky`` flags."""
    return Gate(Baseline.load(path) if path else None, fail_on_flaky)
