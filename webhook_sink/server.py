"""Starts and stops the sink: in the foreground (CLI) or on a background thread (pytest)."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import uvicorn

from tixallo_qa.core.netutil import listen
from tixallo_qa.core.settings import SettingsError
from tixallo_qa.webhook_sink.app import SinkApp
from tixallo_qa.webhook_sink.config import SinkConfig

START_TIMEOUT = 15.0
# GIL switch interval of a standalone sink process (CPython's default is 5 ms); see run_foreground.
SWITCH_INTERVAL = 0.0005
# The sink never uses the client address: no X-Forwarded-* rewriting middleware around every
# delivery (bench/sink_ingest.py).
PROXY_HEADERS = False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0 = a free port); ``PortInUseError`` when taken."""
    sock = listen(host, port, hint=" (--sink-port / TIXALLO_SINK_PORT, 0 = any free port)")
    sock.set_inheritable(True)
    return sock


def check_certificate(cert: str, key: str) -> None:
    """The certificate and key load together, or one line naming the settings (not a traceback)."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise SettingsError(
            f"TIXALLO_SINK_TLS_CERT={cert} and TIXALLO_SINK_TLS_KEY={key} do not load as a "
            f"certificate and its key ({exc}): set them to a PEM certificate and its private key"
        ) from None


def remove_db(path: str) -> None:
    """Delete a sink database with its WAL files (``--fresh``)."""
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


class SinkServer:
    """One sink: bind, serve, stop. ``config.db_path=None`` stores in a temporary file."""

    def __init__(
        self, config: SinkConfig, *, fresh: bool = False, log_level: str = "warning"
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if config.db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="webhook-sink-")
            config = config.replace(db_path=os.path.join(self._tmp.name, "sink.sqlite3"))
        assert config.db_path is not None
        Path(config.db_path).parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            remove_db(config.db_path)
        if config.tls_cert and config.tls_key:
            check_certificate(config.tls_cert, config.tls_key)
        self._sock = bind(config.host, config.port)
        # The real port, when 0 asked for any free one.
        self.config = config.replace(port=int(self._sock.getsockname()[1]))
        self.app = SinkApp(self.config)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                loop="uvloop",
                http="httptools",
                lifespan="on",
                log_level=log_level,
                access_log=False,
                timeout_graceful_shutdown=2,
                # Long-polls and stalls must not hold a keep-alive socket forever.
                timeout_keep_alive=30,
                proxy_headers=PROXY_HEADERS,
                # Past this many open connections uvicorn answers 503 itself (the app's own
                # limits, with Retry-After, come first).
                limit_concurrency=self.config.max_connections,
                ssl_certfile=self.config.tls_cert,
                ssl_keyfile=self.config.tls_key,
            )
        )
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.config.base_url

    @property
    def webhook_url(self) -> str:
        return self.config.webhook_url

    def announcement(self) -> str:
        """The one line that tells a person where to point Tixallo's webhook endpoint."""
        page = (
            f"live page {self.url}/?token=<TIXALLO_SINK_TOKEN>"
            if self.config.token
            else f"live page {self.url}/"
        )
        return (
            f"webhook sink listening: point your Tixallo webhook endpoint at {self.webhook_url} "
            f"({page})"
        )

    def serve_forever(self, on_ready: Callable[[SinkServer], None] | None = None) -> None:
        """Serve in this thread until SIGINT/SIGTERM; ``on_ready`` runs once it accepts deliveries."""
        if on_ready is not None:
            threading.Thread(
                target=self._announce_when_started, args=(on_ready,), daemon=True
            ).start()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._cleanup()

    def _announce_when_started(self, on_ready: Callable[[SinkServer], None]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while (
            not self._server.started
            and not self._server.should_exit
            and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        if self._server.started:
            on_ready(self)

    def start(self) -> SinkServer:
        """Serve on a background thread with its own event loop; returns once it is listening."""
        self._thread = threading.Thread(
            target=self._run_in_thread, name=f"webhook-sink:{self.config.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if (
                self._error is not None
                or not self._thread.is_alive()
                or time.monotonic() > deadline
            ):
                self.stop()
                raise RuntimeError(f"webhook sink did not start: {self._error!r}")
            time.sleep(0.005)
        return self

    def _run_in_thread(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start(); SystemExit included (lifespan failure)
            self._error = exc

    def stop(self) -> None:
        """Stop serving, commit what is queued, close the store and the socket."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._cleanup()

    def _cleanup(self) -> None:
        self._sock.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SinkServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def write_ready_file(path: str, server: SinkServer) -> None:
    """Tell a parent process where the sink listens (written atomically)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    data = {
        "url": server.url,
        "port": server.config.port,
        "webhook_url": server.webhook_url,
        "pid": os.getpid(),
    }
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, target)


def run_foreground(
    config: SinkConfig,
    *,
    fresh: bool = False,
    ready_file: str | None = None,
    announce: Callable[[str], None] = print,
) -> int:
    """Bind (``PortInUseError`` if taken), announce one line, serve until interrupted."""
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    # Performance (bench/sink_ingest.py): each group commit returns from the store's writer
    # thread through the GIL; at the default 5 ms switch interval that thread waits behind the
    # busy event loop for up to 5 ms per commit, and every delivery of the batch waits with it.
    # 0.5 ms took ingest from ~5,200 to ~8,300 deliveries/s on the 2-core bench machine. Set
    # only here, where the process is the sink (not in-process under pytest).
    sys.setswitchinterval(SWITCH_INTERVAL)
    server = SinkServer(config, fresh=fresh)

    def ready(s: SinkServer) -> None:
        if ready_file:
            write_ready_file(ready_file, s)
        announce(s.announcement())

    server.serve_forever(on_ready=ready)
    return 0
