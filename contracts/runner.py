"""Runs the contract suite in a child pytest process and returns its result (the programmatic API).

``tixallo-qa contracts``, ``tixallo-qa run`` and ``tixallo-qa selftest`` all call ``run_suite``;
the child process keeps each run's fixtures, schemathesis state and hypothesis caches apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tixallo_qa.contracts._recorder import INFRASTRUCTURE_PROPERTY
from tixallo_qa.contracts._results import FAILED, FLAKY, PASSED, SuiteResult
from tixallo_qa.core import children
from tixallo_qa.core.redact import Redactor
from tixallo_qa.core.settings import Settings

# Not resolved: under tixallo_qa/ (the symlink in a checkout), pytest names the modules
# tixallo_qa.contracts.*, the one name they have.
CONTRACTS_DIR = Path(__file__).absolute().parent
ROOT = CONTRACTS_DIR.parent
# Settings reach the child only through ``settings.to_env()``, never from the caller's environment.
_DROPPED_ENV = ("TIXALLO_ENV_FILE", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
# The child loads exactly the plugins the suite needs, named (no entry-point autoload): pytest
# rewrites the asserts of every module of every distribution with a pytest11 entry point, all of
# schemathesis and hypothesis included, at each start where no bytecode is cached (1-2 s of a
# run), and other installed plugins (xdist, anyio, locust...) would only add imports.
PLUGINS = ("tixallo_qa.contracts.plugin", "schemathesis.pytest.plugin", "_hypothesis_pytestplugin")
OUTPUT_TAIL = 4000


def _child_env(settings: Settings, profile: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TIXALLO_") and k != "TIXALLO_SPEC") and k not in _DROPPED_ENV
    }
    env.update(settings.to_env())
    env["TIXALLO_PROFILE"] = profile
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pytest_command(
    results_path: str,
    *,
    junit_path: str | None = None,
    select: Sequence[str] | None = None,
    shared_webhook_endpoint: bool = False,
    extra_args: Sequence[str] = (),
    progress_path: str | None = None,
) -> list[str]:
    """The child's command line (no secrets on it: those travel in the environment)."""
    command = [
        sys.executable, "-m", "pytest", str(CONTRACTS_DIR),
        # No ini file: the suite runs the same from a checkout and from an installed wheel.
        "-c", os.devnull, "--rootdir", str(ROOT), "--strict-markers",
        # locust's pytest plugin would import locust, whose gevent patches the whole process.
        "-p", "no:cacheprovider", "-p", "no:locust",
        # Its end-of-run gc.collect() passes (ten, over a heap of generated strategies) find
        # nothing to report in a child whose output is the results file.
        "-p", "no:unraisableexception",
        *(arg for name in PLUGINS for arg in ("-p", name)),
        "--tixallo-results", results_path,
        "-q", "--no-header",
    ]  # fmt: skip
    if junit_path:
        command += ["--junitxml", str(junit_path)]
    if select:
        command += ["--tixallo-select", ",".join(select)]
    if shared_webhook_endpoint:
        command.append("--tixallo-shared-webhook-endpoint")
    if progress_path:
        command += ["--tixallo-progress", progress_path]
    return command + list(extra_args)


def unreachable(settings: Settings, profile: str) -> SuiteResult | None:
    """A configured deployment that does not answer: the result to return at once, else None.

    Probed here, before the child pytest starts (seconds of imports), so a closed port ends
    the run within the probe's timeout with one line and exit 3.
    """
    if settings.embedded:
        return None
    from tixallo_qa.target import TargetError, probe_deployment

    try:
        probe_deployment(settings)
    except TargetError as exc:
        return SuiteResult(
            profile=profile, exit_code=exc.code, infrastructure=str(exc), stop_code=exc.code
        )
    return None


def _junit_case(classname: str, name: str, message: str) -> str:
    from xml.sax.saxutils import quoteattr

    return (
        f'<testcase classname={quoteattr(classname)} name={quoteattr(name)} time="0">'
        f'<error type="infrastructure" message={quoteattr(message)} /></testcase>'
    )


def mark_infrastructure(junit_path: str | os.PathLike[str], result: SuiteResult) -> None:
    """Make the JUnit file say error, not failure, where the target's absence broke a check.

    pytest writes a ``<failure>`` for every failed call; the recorder tagged the broken ones
    with a property. A run that broke before any check gets one ``<error>`` testcase saying why.
    """
    import xml.etree.ElementTree as ET

    path = Path(junit_path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        root = ET.fromstring('<testsuites><testsuite name="tixallo-contracts" /></testsuites>')
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if not suites:
        suites = [ET.SubElement(root, "testsuite", name="tixallo-contracts")]
    marked = 0
    for suite in suites:
        for case in suite.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property") if p.get("name")}
            if INFRASTRUCTURE_PROPERTY not in props:
                continue
            # Every failure of the case (subtests add one each, and one for the whole).
            for failure in case.findall("failure"):
                failure.tag = "error"
                failure.set("type", "infrastructure")
                failure.set("message", str(props[INFRASTRUCTURE_PROPERTY]))
                marked += 1
    if result.infrastructure and not marked:
        suites[0].append(
            ET.fromstring(_junit_case("contracts", "target reachable", result.infrastructure))
        )
    for suite in suites:
        cases = list(suite.iter("testcase"))
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
        suite.set("errors", str(sum(c.find("error") is not None for c in cases)))
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode"),
        encoding="utf-8",
    )


def run_suite(
    settings: Settings,
    *,
    profile: str | None = None,
    junit_path: str | os.PathLike[str] | None = None,
    json_path: str | os.PathLike[str] | None = None,
    select: Sequence[str] | None = None,
    quiet: bool = True,
    shared_webhook_endpoint: bool = False,
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
    progress_path: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    reruns: int = 0,
) -> SuiteResult:
    """Run the suite against ``settings`` (embedded reference deployment when no base URL).

    ``select`` names checks or families to run (e.g. ``["webhooks", "list-newest-first"]``);
    ``quiet`` captures the child's output instead of streaming it. The result is also written
    to ``json_path`` when given. With ``reruns`` a run that failed is run again (the same seed,
    so the same generated examples) up to that many times: a failed check that passes in a
    re-run is ``flaky``, one that fails every time stays ``failed``.
    """
    profile = profile or settings.profile
    seed = random.getrandbits(63) if seed is None else seed
    started = time.monotonic()
    early = unreachable(settings, profile)
    if early is not None:
        early.duration = round(time.monotonic() - started, 3)
        early.junit_path = str(junit_path) if junit_path else None
        early.json_path = str(json_path) if json_path else None
        if junit_path:
            mark_infrastructure(junit_path, early)
        if json_path:
            early.write(json_path)
        return early
    with contextlib.ExitStack() as stack:
        if settings.embedded and reruns > 0:
            # One deployment for the run and its re-runs: a re-run judges the same target.
            from tixallo_qa.target import Target

            settings = stack.enter_context(Target.start(settings)).settings

        def once(junit: str | None, results: str | None) -> SuiteResult:
            return _run_once(
                settings, profile=profile, junit_path=junit, json_path=results, select=select,
                quiet=quiet, shared_webhook_endpoint=shared_webhook_endpoint, timeout=timeout,
                extra_args=[*extra_args, "--tixallo-seed", str(seed)],
                progress_path=progress_path,
            )  # fmt: skip

        result = once(str(junit_path) if junit_path else None, None)
        if reruns > 0 and result.failed() and not result.infrastructure:
            triage(result, lambda: once(None, None), reruns)
            if junit_path:
                relabel_junit(
                    junit_path, {c.nodeid: ("flakyFailure", None) for c in result.flaky()}
                )
    result.duration = round(time.monotonic() - started, 3)
    result.json_path = str(json_path) if json_path else None
    if json_path:
        result.write(json_path)
    return result


def triage(result: SuiteResult, again: Callable[[], SuiteResult], reruns: int) -> None:
    """Run the suite again up to ``reruns`` times; a failed check that passes once is flaky.

    The whole suite runs again, not the failed checks alone: a sweep (the webhooks of every
    create, the oracles' reports) judges the whole run's traffic and means nothing by itself.
    """
    failing = {c.name for c in result.failed()}
    passed_on: dict[str, int] = {}
    failed_again: dict[str, int] = {}
    runs = 1
    for attempt in range(1, reruns + 1):
        if not failing:
            break
        rerun = again()
        runs += 1
        if rerun.infrastructure:
            break  # the target went away: nothing more can be learned
        for check in rerun.checks:
            if check.name not in failing:
                continue
            if check.outcome == PASSED:
                passed_on[check.name] = attempt
                failing.discard(check.name)
            elif check.outcome == FAILED:
                failed_again[check.name] = failed_again.get(check.name, 0) + 1
    for i, check in enumerate(result.checks):
        if check.name in passed_on:
            result.checks[i] = dataclasses.replace(
                check,
                outcome=FLAKY,
                attempts=passed_on[check.name] + 1,
                note=f"flaky: failed, then passed on re-run {passed_on[check.name]}",
            )
        elif check.name in failing:
            again_n = failed_again.get(check.name, 0)
            note = (
                f"deterministic: failed again on {again_n} re-run(s)"
                if again_n == runs - 1
                else f"failed; not judged again on {runs - 1 - again_n} of {runs - 1} re-run(s)"
            )
            result.checks[i] = dataclasses.replace(check, attempts=runs, note=note)


def relabel_junit(
    junit_path: str | os.PathLike[str], cases: Mapping[str, tuple[str, str | None]]
) -> None:
    """Turn the ``<failure>`` of each testcase named (by node id) into ``tag`` (with ``message``).

    ``flakyFailure`` for a flaky check (a passed testcase that holds its first failure),
    ``skipped`` for a known one (the baseline accepts it): CI then counts neither as a failure.
    """
    import xml.etree.ElementTree as ET

    path = Path(junit_path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return
    for suite in [root] if root.tag == "testsuite" else list(root.iter("testsuite")):
        for case in suite.iter("testcase"):
            relabel = cases.get(_nodeid(case))
            if relabel is None:
                continue
            tag, message = relabel
            for failure in case.findall("failure"):
                failure.tag = tag
                if message is not None:
                    failure.set("message", message)
        found = list(suite.iter("testcase"))
        suite.set("failures", str(sum(c.find("failure") is not None for c in found)))
        suite.set("skipped", str(sum(c.find("skipped") is not None for c in found)))
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode"),
        encoding="utf-8",
    )


def _nodeid(case: Any) -> str:
    """A JUnit testcase's pytest node id (classname ``pkg.mod`` + name)."""
    classname, name = case.get("classname", ""), case.get("name", "")
    parts = classname.split(".")
    # pytest writes classname "tixallo_qa.contracts.test_x" for contracts/test_x.py.
    module = parts[-1] if parts else ""
    return f"contracts/{module}.py::{name}"


def _run_once(
    settings: Settings,
    *,
    profile: str,
    junit_path: str | None,
    json_path: str | None,
    select: Sequence[str] | None,
    quiet: bool,
    shared_webhook_endpoint: bool,
    timeout: float | None,
    extra_args: Sequence[str],
    progress_path: str | os.PathLike[str] | None,
) -> SuiteResult:
    """One child pytest run of the suite, and its result."""
    redactor = Redactor(settings.secrets)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tixallo-contracts-") as tmp:
        results_path = json_path or str(Path(tmp) / "results.json")
        Path(results_path).unlink(missing_ok=True)
        command = pytest_command(
            results_path,
            junit_path=junit_path,
            select=select,
            shared_webhook_endpoint=shared_webhook_endpoint,
            extra_args=extra_args,
            progress_path=str(progress_path) if progress_path else None,
        )
        try:
            completed = children.run(
                command,
                cwd=ROOT,
                env=_child_env(settings, profile),
                capture=quiet,
                timeout=timeout,
            )
            exit_code, output = (
                completed.returncode,
                (completed.stdout or b"").decode("utf-8", "replace"),
            )
        except subprocess.TimeoutExpired as exc:
            exit_code, output = (
                -1,
                f"the suite did not finish within {timeout:g} s\n"
                + (exc.output or b"").decode("utf-8", "replace"),
            )
        path = Path(results_path)
        if path.exists():
            result = SuiteResult.read(path)
        else:
            result = SuiteResult(profile=profile, exit_code=exit_code)
            result.errors.append(
                redactor.text(
                    f"the suite ended (exit code {exit_code}) without results:\n{output[-OUTPUT_TAIL:]}"
                )
            )
        result.exit_code = exit_code
        result.duration = round(time.monotonic() - started, 3)
        result.junit_path = junit_path
        # pytest's own exit codes: 0 all passed, 1 some failed, 5 nothing collected; others break the run.
        if exit_code not in (0, 1, 5) and not result.errors and not result.infrastructure:
            result.errors.append(
                redactor.text(f"pytest exited with code {exit_code}:\n{output[-OUTPUT_TAIL:]}")
            )
        if junit_path and (result.infrastructure or result.counts["error"]):
            mark_infrastructure(junit_path, result)
        return result
