"""Doctor's checks that need no server: settings notes, key labels, workspace fingerprints, fixes."""

from __future__ import annotations

import socket

import pytest

from tixallo_qa._doctor import NOTE, OK, PROBLEM, WARN, DoctorReport
from tixallo_qa._doctor._api import Answer, key_label, same_workspace
from tixallo_qa._doctor._network import check_reachable, check_tls
from tixallo_qa._doctor._settings import check_settings
from tixallo_qa._doctor._webhook import _verdict_problem
from tixallo_qa.core.settings import Settings

pytestmark = pytest.mark.unit

KEY = "tq_live_0123456789abcdef"


def _report() -> DoctorReport:
    return DoctorReport(target="http://t/api/v1", embedded=False)


def test_missing_settings_name_what_they_enable() -> None:
    report = _report()
    check_settings(Settings(base_url="https://t/api/v1", api_keys=(KEY,)), report)
    notes = [f.message for f in report.findings if f.status == NOTE]
    assert any(m.startswith("TIXALLO_OTHER_API_KEY is not set: workspace isolation") for m in notes)
    assert any(
        m.startswith("TIXALLO_NOTED_TICKET_ID and TIXALLO_INTERNAL_NOTE_MARKER are not set")
        for m in notes
    )
    assert any("TIXALLO_WEBHOOK_SECRET is not set: every webhook check" in m for m in notes)
    assert report.ok  # missing optional settings are not problems


def test_missing_api_key_is_a_problem_with_its_fix() -> None:
    report = _report()
    check_settings(Settings(base_url="https://t/api/v1"), report)
    [problem] = report.problems
    assert problem.message.startswith("TIXALLO_API_KEY is not set: set it to an API key")


def test_key_labels_never_show_the_key() -> None:
    label = key_label("TIXALLO_API_KEY", KEY, 1, 3)
    assert KEY not in label and label.startswith("TIXALLO_API_KEY #2 (key:")
    assert key_label("TIXALLO_API_KEY", KEY, 0, 1).startswith("TIXALLO_API_KEY (key:")


def test_workspace_fingerprint_by_shared_ticket_ids() -> None:
    assert same_workspace(frozenset({"a", "b"}), frozenset({"b", "c"})) is True
    assert same_workspace(frozenset({"a"}), frozenset({"z"})) is False
    assert same_workspace(frozenset(), frozenset({"z"})) is None
    answer = Answer(status=200, body={"data": [{"id": "a"}, {"id": "b"}]})
    assert answer.ids == frozenset({"a", "b"})


def test_bad_signature_fix_names_the_setting() -> None:
    message = _verdict_problem("bad_signature", "", Settings())
    assert message == (
        "the webhook secret does not match the endpoint's signing secret: copy it from the Tixallo "
        "app's webhook settings into TIXALLO_WEBHOOK_SECRET"
    )


def test_closed_port_is_one_problem_with_a_fix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        report = _report()
        assert not check_reachable(f"http://127.0.0.1:{port}/api/v1", 2.0, report)
    [problem] = report.problems
    assert problem.message == (
        f"the deployment at http://127.0.0.1:{port}/api/v1 is unreachable: nothing listens on "
        f"127.0.0.1:{port} (connection refused): start it, or fix the host and port in TIXALLO_BASE_URL"
    )


def test_unresolvable_host_is_one_problem() -> None:
    report = _report()
    assert not check_reachable("https://no-such-host.invalid/api/v1", 2.0, report)
    [problem] = report.problems
    assert "no-such-host.invalid does not resolve: fix the host name in TIXALLO_BASE_URL" in (
        problem.message
    )


def test_plain_http_warns_only_off_loopback() -> None:
    remote, local = _report(), _report()
    check_tls("http://tixallo.example/api/v1", 1.0, remote)
    check_tls("http://127.0.0.1:8000/api/v1", 1.0, local)
    assert [f.status for f in remote.findings] == [WARN]
    assert "Tixallo refuses plain http" in remote.findings[0].message
    assert [f.status for f in local.findings] == [OK]


def test_report_json_counts_problems() -> None:
    report = _report()
    report.add("keys", PROBLEM, "x")
    report.add("tls", WARN, "y")
    data = report.to_json()
    assert data["ok"] is False and data["problems"] == 1 and data["warnings"] == 1
