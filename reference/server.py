"""Runs the reference deployment on uvicorn (uvloop + httptools) on a socket we bind ourselves."""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tixallo_qa.core.netutil import ListenError, PortInUseError, listen
from tixallo_qa.reference.config import ConfigError, ServerConfig, load_endpoints
from tixallo_qa.reference.faults import FaultSet
from tixallo_qa.reference.store import Store

ReadyCallback = Callable[[str, int], None]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; binding it here makes a taken port one clear line and resolves port 0."""
    try:
        return listen(host, port, hint=" (--port)")
    except PortInUseError:
        raise
    except ListenError as exc:
        raise ConfigError(str(exc)) from None


def write_ready_file(path: str, info: dict[str, Any]) -> None:
    """Write atomically, so a waiting parent never reads half a file."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, target)


def apply_endpoints(store: Store, config: ServerConfig) -> None:
    """Make the database's endpoints match the config file (workspaces are created by name)."""
    if not config.endpoints:
        return
    with store.tx():
        for ep in config.endpoints:
            ws = store.workspace_id(ep.workspace) or store.create_workspace(ep.workspace)
            store.upsert_endpoint(ws, ep.url, ep.secret, ep.events, ep.active)


def prepare(config: ServerConfig) -> tuple[ServerConfig, socket.socket, Store]:
    """Check everything that can be wrong before serving: faults, config file, port, database."""
    FaultSet(config.faults)
    if config.tls_cert and config.tls_key:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                config.tls_cert, config.tls_key
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"--tls-cert {config.tls_cert} and --tls-key {config.tls_key} do not load as a "
                f"certificate and its key ({exc}): give a PEM certificate and its private key"
            ) from None
    if config.config_file:
        config = _replace(config, endpoints=load_endpoints(config.config_file))
    sock = bind(config.host, config.port)
    try:
        store = Store(config.db_path)
        apply_endpoints(store, config)
    except BaseException:
        sock.close()
        raise
    return config, sock, store


def _replace(config: ServerConfig, **changes: Any) -> ServerConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)


def serve(config: ServerConfig, on_ready: ReadyCallback | None = None) -> int:
    """Serve until SIGINT/SIGTERM; configuration errors raise before anything is served."""
    import uvicorn

    from tixallo_qa.reference.app import create_app

    config, sock, store = prepare(config)
    host, port = sock.getsockname()[:2]
    scheme = "https" if config.tls_cert else "http"
    base_url = f"{scheme}://{_url_host(host)}:{port}/api/v1"

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            if config.ready_file:
                write_ready_file(
                    config.ready_file, {"base_url": base_url, "port": port, "pid": os.getpid()}
                )
            if on_ready is not None:
                on_ready(base_url, port)

    app = create_app(config, store)
    uv_config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=3,
        server_header=False,
        ssl_certfile=config.tls_cert,
        ssl_keyfile=config.tls_key,
    )
    try:
        _Server(uv_config).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def announce(base_url: str, port: int) -> None:
    print(f"reference deployment listening on {base_url}", file=sys.stderr, flush=True)
