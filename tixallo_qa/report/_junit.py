"""One JUnit file for CI: the contract suite's own JUnit plus the load SLOs (and run errors) as testcases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ._model import RunRecord


def _suites_of(path: Path | None) -> list[ET.Element]:
    if path is None or not path.is_file():
        return []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return []
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def _suite(name: str, cases: list[ET.Element], time: float = 0.0) -> ET.Element:
    suite = ET.Element("testsuite", name=name)
    failures = sum(c.find("failure") is not None for c in cases)
    errors = sum(c.find("error") is not None for c in cases)
    skipped = sum(c.find("skipped") is not None for c in cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{time:.3f}")
    suite.extend(cases)
    return suite


def _load_suite(record: RunRecord) -> ET.Element | None:
    load = record.load
    if load is None:
        return None
    cases: list[ET.Element] = []
    if not load.ran:
        case = ET.Element("testcase", classname="load", name="load run")
        if load.error:
            ET.SubElement(
                case, "error", message=load.error.splitlines()[0] if load.error else "error"
            ).text = load.error
        else:
            ET.SubElement(case, "skipped", message=load.skipped_reason)
        cases.append(case)
        return _suite("load", cases)
    for slo in load.slos:
        case = ET.Element("testcase", classname="load.slo", name=slo.slo)
        summary = f"threshold {slo.threshold}, measured {slo.shown}"
        if slo.passed is False:
            ET.SubElement(case, "failure", message=f"SLO breached: {summary}").text = summary
        elif slo.passed is None:
            ET.SubElement(case, "skipped", message=f"not measured: {summary}")
        else:
            ET.SubElement(case, "system-out").text = summary
        cases.append(case)
    run = ET.Element(
        "testcase", classname="load", name="load run exit code", time=f"{load.duration:.3f}"
    )
    if load.exit_code != 0 or load.error:
        message = (
            load.error.splitlines()[0]
            if load.error
            else f"the load run exited with {load.exit_code}"
        )
        # A breach (1) is a failure; unreachable (3) or inconclusive (4) is an error.
        tag = "failure" if load.exit_code == 1 and not load.error else "error"
        ET.SubElement(run, tag, message=message).text = load.error or message
    cases.append(run)
    return _suite("load", cases, load.duration)


def merged_junit(record: RunRecord, contracts_junit: Path | None) -> str:
    """``<testsuites>`` holding the contract suites, a ``load`` suite and a ``run`` suite for errors."""
    root = ET.Element("testsuites", name="tixallo-qa")
    suites = _suites_of(contracts_junit)
    if not suites and record.checks:
        # No JUnit from the suite (it crashed early, or wrote none): build one from its results.
        cases = []
        for check in record.checks:
            case = ET.Element(
                "testcase",
                classname=f"contracts.{check.family}",
                name=check.name,
                time=f"{check.duration:.3f}",
            )
            head = check.message.splitlines()[0] if check.message else check.outcome
            if check.outcome == "failed":
                ET.SubElement(case, "failure", message=head).text = check.message
            elif check.outcome == "error":
                # Not judged (the target went away): infrastructure, not a defect.
                ET.SubElement(
                    case, "error", type="infrastructure", message=head
                ).text = check.message
            elif check.outcome in ("skipped", "known"):
                ET.SubElement(case, "skipped", message=head)
            elif check.outcome == "flaky":
                ET.SubElement(case, "flakyFailure", message=head).text = check.explained
            cases.append(case)
        suites = [_suite("contracts", cases)]
    root.extend(suites)
    load = _load_suite(record)
    if load is not None:
        root.append(load)
    if record.errors or record.interrupted:
        cases = []
        for i, error in enumerate(record.errors or ["interrupted"], start=1):
            case = ET.Element("testcase", classname="run", name=f"run error {i}")
            ET.SubElement(case, "error", message=error.splitlines()[0]).text = error
            cases.append(case)
        root.append(_suite("run", cases))
    totals = {k: 0 for k in ("tests", "failures", "errors", "skipped")}
    for suite in root.iter("testsuite"):
        for k in totals:
            totals[k] += int(suite.get(k, "0") or 0)
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
