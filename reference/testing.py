"""Pytest fixtures: reference deployments in child processes on free loopback ports, seeded.

``reference_factory`` (session) starts deployments with given faults, rate limit and database;
``reference_deployment`` (session) is one faithful deployment with the rate limit off, whose
webhook endpoint points at ``reference_sink_url`` (None by default; override that fixture to send
webhooks to a sink).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tixallo_qa.core.children import Child, ChildError
from tixallo_qa.core.children import start as start_child

START_TIMEOUT = 15.0


class DeploymentError(RuntimeError):
    """A reference deployment did not start."""


@dataclass
class ReferenceDeployment:
    """A running reference deployment: where it is, what was seeded, how to stop it."""

    base_url: str
    port: int
    db_path: str
    settings: dict[str, str]
    args: list[str] = field(repr=False)
    child: Child = field(repr=False)

    @property
    def root_url(self) -> str:
        return self.base_url.removesuffix("/api/v1")

    @property
    def api_keys(self) -> list[str]:
        return self.settings.get("TIXALLO_API_KEY", "").split(",")

    @property
    def api_key(self) -> str:
        return self.api_keys[0]

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.api_key}"}

    def log(self) -> str:
        """What the server wrote to stderr/stdout (for failure messages)."""
        return self.child.log()

    def stop(self) -> int | None:
        """Stop the server; returns its exit code."""
        return self.child.stop()

    def restart(self) -> ReferenceDeployment:
        """Stop and start again on the same database and port."""
        self.stop()
        args = list(self.args)
        args[args.index("--port") + 1] = str(self.port)
        fresh = _launch(args, self.db_path, self.settings)
        self.child, self.base_url = fresh.child, fresh.base_url
        return self


def serve_args(
    db_path: str,
    *,
    faults: Sequence[str] = (),
    rate_limit: int = 0,
    rate_window: float = 60,
    retries: str = "1,5,25",
    config_file: str | None = None,
    port: int = 0,
) -> list[str]:
    """The command line of a child ``python -m tixallo_qa.reference serve`` (after ``-m``)."""
    args = [
        "tixallo_qa.reference", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--db", db_path,
        "--rate-limit", str(rate_limit), "--rate-window", str(rate_window),
        "--webhook-retries", retries,
    ]  # fmt: skip
    for name in faults:
        args += ["--fault", name]
    if config_file:
        args += ["--config", config_file]
    return args


def _launch(args: list[str], db_path: str, settings: dict[str, str]) -> ReferenceDeployment:
    workdir = Path(tempfile.mkdtemp(prefix="tixallo-ref-"))
    try:
        child = start_child("reference deployment", args, workdir, timeout=START_TIMEOUT)
    except ChildError as exc:
        raise DeploymentError(f"reference deployment did not start: {exc}") from None
    return ReferenceDeployment(
        base_url=child.info["base_url"], port=child.port, db_path=db_path, settings=settings,
        args=args, child=child,
    )  # fmt: skip


class ReferenceFactory:
    """Starts seeded reference deployments; stops them all at the end of the session."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.started: list[ReferenceDeployment] = []
        self._count = 0

    def __call__(
        self,
        *,
        faults: Sequence[str] = (),
        rate_limit: int = 0,
        rate_window: float = 60,
        db_path: str | None = None,
        seed: bool = True,
        sink_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_path: str = "/webhooks/tixallo",
        pool_size: int = 1,
        retries: str = "1,5,25",
        config_file: str | None = None,
    ) -> ReferenceDeployment:
        from tixallo_qa.reference.seed import seed as seed_db

        self._count += 1
        db = db_path or str(self.tmp_dir / f"reference-{self._count}.sqlite3")
        settings: dict[str, str] = {}
        if seed:
            settings = seed_db(
                db,
                sink_url=sink_url,
                webhook_secret=webhook_secret,
                pool_size=pool_size,
                webhook_path=webhook_path,
            )
        args = serve_args(
            db,
            faults=faults,
            rate_limit=rate_limit,
            rate_window=rate_window,
            retries=retries,
            config_file=config_file,
        )
        deployment = _launch(args, db, settings)
        deployment.settings = {
            "TIXALLO_BASE_URL": deployment.base_url,
            **settings,
            "TIXALLO_RATE_WINDOW": f"{rate_window:g}",
            "TIXALLO_RATE_LIMIT": str(rate_limit),
        }
        self.started.append(deployment)
        return deployment

    def stop_all(self) -> None:
        for deployment in self.started:
            deployment.stop()


@pytest.fixture(scope="session")
def reference_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceFactory]:
    """Call it to start a seeded reference deployment in a child process on a free port."""
    factory = ReferenceFactory(tmp_path_factory.mktemp("reference"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def reference_sink_url() -> str | None:
    """Where the seeded webhook endpoint of ``reference_deployment`` points (override it)."""
    return None


@pytest.fixture(scope="session")
def reference_deployment(
    reference_factory: ReferenceFactory, reference_sink_url: str | None
) -> ReferenceDeployment:
    """One faithful deployment for the session: no faults, rate limit off, seeded."""
    return reference_factory(sink_url=reference_sink_url, pool_size=2)
