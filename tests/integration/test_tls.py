"""HTTPS end to end: the reference deployment and the sink serve TLS from a locally made CA.

``tixallo-qa run`` attaches to the HTTPS deployment, starts an HTTPS sink the deployment's
dispatcher posts to, and every client (the contract suite and schemathesis, locust, the sink
client) verifies against ``TIXALLO_CA_BUNDLE``. A wrong CA is one line naming that setting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tixallo_qa.core import children
from tixallo_qa.core.netutil import free_port
from tixallo_qa.core.settings import parse_env_file
from tixallo_qa.reference.tls import LocalCA, make_local_ca

pytestmark = pytest.mark.integration

# The system's bundle: real CAs, but not the one that signed our certificates.
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"


@dataclass
class HttpsDeployment:
    ca: LocalCA
    env: dict[str, str]  # TIXALLO_* settings a client needs (keys, secret, CA, sink TLS)
    sink_port: int


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TIXALLO_")}


@pytest.fixture(scope="module")
def https_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsDeployment]:
    """The reference deployment over HTTPS, seeded with a webhook endpoint at an https sink."""
    root = tmp_path_factory.mktemp("https")
    ca = make_local_ca(root / "tls")
    sink_port = free_port()
    env_file = root / "reference.env"
    argv = [
        "tixallo_qa", "reference", "serve",
        "--port", "0", "--db", str(root / "reference.sqlite3"), "--env-out", str(env_file),
        "--rate-limit", "0",  # one seeded key: unpaced, so the run takes seconds
        "--tls-cert", str(ca.cert), "--tls-key", str(ca.key), "--ca-bundle", str(ca.ca),
        "--sink-url", f"https://127.0.0.1:{sink_port}",
    ]  # fmt: skip
    reference = children.start("https reference", argv, root, env=_clean_environ())
    try:
        env = {
            **parse_env_file(env_file),
            "TIXALLO_CA_BUNDLE": str(ca.ca),
            "TIXALLO_SINK_TLS_CERT": str(ca.cert),
            "TIXALLO_SINK_TLS_KEY": str(ca.key),
            "TIXALLO_SINK_PORT": str(sink_port),
        }
        assert env["TIXALLO_BASE_URL"].startswith("https://127.0.0.1:")
        yield HttpsDeployment(ca, env, sink_port)
    finally:
        reference.stop()


def _tixallo(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tixallo_qa", *args],
        env={**_clean_environ(), **env},
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_against_the_https_deployment_with_an_https_sink(
    https_deployment: HttpsDeployment, tmp_path: Path
) -> None:
    done = _tixallo(
        "run", "--profile", "smoke", "--load-duration", "5", "--json",
        env={**https_deployment.env, "TIXALLO_REPORT_DIR": str(tmp_path / "reports")},
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    print(f"tixallo-qa run over HTTPS (smoke, 5 s load): {result['duration']:.1f} s")
    assert result["passed"] and result["exit_code"] == 0
    assert result["counts"]["passed"] > 0 and result["counts"]["failed"] == 0
    # The deployment's dispatcher reached the https sink, and the sink verified its signatures.
    assert result["webhooks"]["verdicts"].get("valid", 0) > 0
    assert set(result["webhooks"]["verdicts"]) == {"valid"}
    assert result["load"]["ran"] and result["load"]["passed"]
    assert result["settings"]["TIXALLO_SINK_TOKEN"].startswith("set (key:")
    for name in ("TIXALLO_API_KEY", "TIXALLO_WEBHOOK_SECRET"):
        for secret in https_deployment.env[name].split(","):
            assert secret not in done.stdout + done.stderr


def test_a_wrong_ca_bundle_is_one_line_naming_the_setting(
    https_deployment: HttpsDeployment, tmp_path: Path
) -> None:
    wrong = {**https_deployment.env, "TIXALLO_CA_BUNDLE": SYSTEM_CAS}
    done = _tixallo("contracts", env=wrong, cwd=tmp_path, timeout=120)
    assert done.returncode == 3
    [line] = [x for x in done.stderr.splitlines() if x.startswith("tixallo-qa contracts:")]
    assert "does not verify against TIXALLO_CA_BUNDLE=" + SYSTEM_CAS in line
    assert line.endswith("set TIXALLO_CA_BUNDLE to the CA bundle (PEM) that signed it")
    assert "Traceback" not in done.stderr

    load = _tixallo("load", "--duration", "5", env=wrong, cwd=tmp_path, timeout=120)
    assert load.returncode == 3
    assert "does not verify against TIXALLO_CA_BUNDLE" in load.stderr
    assert "Traceback" not in load.stderr

    doctor = _tixallo("doctor", "--json", env=wrong, cwd=tmp_path, timeout=120)
    assert doctor.returncode == 3
    problems = [f for f in json.loads(doctor.stdout)["findings"] if f["status"] == "problem"]
    assert [p["area"] for p in problems] == ["tls"]
    assert "set TIXALLO_CA_BUNDLE" in problems[0]["message"]


def test_the_sink_serves_https_and_its_client_verifies_it(tmp_path: Path) -> None:
    from tixallo_qa.core.tls import client_context
    from tixallo_qa.target import TargetError, sink_status
    from tixallo_qa.webhook_sink.testing import start_sink, ticket_created

    ca = make_local_ca(tmp_path / "tls")
    with start_sink(
        tls_cert=str(ca.cert), tls_key=str(ca.key), verify=client_context(str(ca.ca))
    ) as sink:
        assert sink.url.startswith("https://127.0.0.1:")
        assert sink.deliver(ticket_created()).status_code == 200
        assert sink.client.stats()["total"] == 1
        token = sink.token
        assert sink_status(sink.url, token=token, ca_bundle=str(ca.ca)) == "answers"
        with pytest.raises(TargetError, match="does not verify against TIXALLO_CA_BUNDLE="):
            sink_status(sink.url, token=token, ca_bundle=SYSTEM_CAS)


def test_project_serve_tls_makes_a_local_ca_and_writes_it_into_the_settings(
    tmp_path: Path,
) -> None:
    """`make serve ARGS=--tls`: HTTPS with a CA made for it, trusted through the settings file."""
    import httpx

    from tixallo_qa.core.tls import client_context

    process = subprocess.Popen(
        [sys.executable, "-m", "tixallo_qa", "reference", "serve", "--port", "0", "--tls"],
        cwd=tmp_path,
        env=_clean_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    settings: dict[str, str] = {}
    try:
        assert process.stdout is not None
        for line in process.stdout:
            name, _, value = line.strip().partition("=")
            settings[name] = value
            if name == "TIXALLO_RATE_LIMIT":
                break
        ca = settings["TIXALLO_CA_BUNDLE"]
        assert settings["TIXALLO_BASE_URL"].startswith("https://127.0.0.1:")
        assert Path(ca) == (tmp_path / ".tixallo" / "tls" / "ca.pem").resolve()
        assert parse_env_file(tmp_path / ".tixallo" / "reference.env")["TIXALLO_CA_BUNDLE"] == ca
        url = settings["TIXALLO_BASE_URL"] + "/tickets"
        headers = {"Authorization": f"Bearer {settings['TIXALLO_API_KEY']}"}
        with httpx.Client(verify=client_context(ca), trust_env=False) as client:
            assert client.get(url, headers=headers).status_code == 200
        with (
            httpx.Client(verify=client_context(SYSTEM_CAS), trust_env=False) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(url)
    finally:
        process.terminate()
        process.communicate(timeout=15)
