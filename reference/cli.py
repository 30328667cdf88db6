"""``python -m tixallo_qa.reference serve|seed|admin`` (and the same subcommands under ``tixallo-qa reference``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tixallo_qa.core import signing
from tixallo_qa.core.netutil import PortInUseError
from tixallo_qa.reference.config import EVENT_TYPES, ConfigError, ServerConfig, parse_retries
from tixallo_qa.reference.faults import UnknownFaultError

if TYPE_CHECKING:
    from tixallo_qa.core.sinkurl import SinkUrl
    from tixallo_qa.reference.store import Store

# Where `tixallo-qa reference serve` (what `make serve` runs) keeps its state.
PROJECT_DB = ".tixallo/reference.sqlite3"
PROJECT_ENV = ".tixallo/reference.env"
PROJECT_SINK = "http://127.0.0.1:8787"
PROJECT_TLS = ".tixallo/tls"
DEFAULT_SINK_PATH = "/webhooks/tixallo"


def add_subcommands(parser: argparse.ArgumentParser, *, project: bool = False) -> None:
    """serve/seed/admin; ``project`` gives the `tixallo-qa reference` defaults (seeded file db)."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    db_default = PROJECT_DB if project else ":memory:"

    serve = sub.add_parser("serve", help="serve the API in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 = any free port")
    serve.add_argument(
        "--db", default=db_default, help=f"SQLite file or :memory: (default {db_default})"
    )
    serve.add_argument(
        "--rate-limit", type=int, default=60, help="requests per window per key; 0 = off"
    )
    serve.add_argument("--rate-window", type=float, default=60, help="seconds")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a fault (repeatable); --list-faults shows them",
    )
    serve.add_argument(
        "--list-faults", action="store_true", help="print the fault catalogue and exit"
    )
    serve.add_argument(
        "--config", metavar="FILE", help="webhook endpoints, JSON or TOML ({'endpoints': [...]})"
    )
    serve.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write {base_url, port} here once accepting connections",
    )
    serve.add_argument(
        "--webhook-retries", default="1,5,25", metavar="S,S,..", help="retry delays in seconds"
    )
    serve.add_argument("--webhook-timeout", type=float, default=10.0, metavar="S")
    serve.add_argument(
        "--webhook-scheme",
        default=signing.DEFAULT,
        choices=signing.names(),
        help=f"how deliveries are signed (default {signing.DEFAULT}, part B 1)",
    )
    serve.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument(
        "--ca-bundle",
        metavar="PEM",
        help="CAs the webhook dispatcher trusts for https receivers (default: the system's)",
    )
    if project:
        serve.add_argument(
            "--tls",
            action="store_true",
            help=f"serve HTTPS with a locally made CA (written to {PROJECT_TLS}/; needs trustme)",
        )
        serve.add_argument(
            "--sink-url",
            default=PROJECT_SINK,
            help="where the seeded webhook endpoint points: the sink's root or its full delivery URL",
        )
        serve.add_argument(
            "--env-out", default=PROJECT_ENV, metavar="PATH", help="settings file written at start"
        )
        serve.add_argument("--fresh", action="store_true", help="delete the database and reseed")

    seed = sub.add_parser(
        "seed", help="create workspaces, keys and fixtures; print TIXALLO_* settings"
    )
    seed.add_argument("--db", default=PROJECT_DB if project else None, required=not project)
    seed.add_argument(
        "--sink-url",
        default=None,
        help="make a webhook endpoint pointing at this sink: its root or its full delivery URL",
    )
    seed.add_argument("--webhook-path", default=DEFAULT_SINK_PATH)
    seed.add_argument("--webhook-secret", default=None, help="default: generated")
    seed.add_argument("--pool-size", type=int, default=1, help="keys of workspace A")
    seed.add_argument(
        "--env-out", metavar="PATH", help="also write the settings to this file (mode 0600)"
    )

    admin = sub.add_parser("admin", help="manage workspaces, keys, webhook endpoints, notes")
    admin.add_argument("--db", default=PROJECT_DB if project else None, required=not project)
    what = admin.add_subparsers(dest="admin_action", metavar="WHAT", required=True)
    ws = what.add_parser("workspace", help="add or list workspaces")
    ws.add_argument("op", choices=("add", "list"))
    ws.add_argument("name", nargs="?")
    key = what.add_parser("key", help="add, list or revoke API keys")
    key.add_argument("op", choices=("add", "list", "revoke"))
    key.add_argument("target", nargs="?", help="revoke: key id or the key itself")
    key.add_argument("--workspace", help="add: workspace name")
    key.add_argument("--label")
    ep = what.add_parser("endpoint", help="add, list, enable or disable webhook endpoints")
    ep.add_argument("op", choices=("add", "list", "enable", "disable"))
    ep.add_argument("target", nargs="?", help="enable/disable: endpoint id")
    ep.add_argument("--workspace")
    ep.add_argument("--url")
    ep.add_argument("--secret", help="default: generated and printed")
    ep.add_argument("--events", default=",".join(EVENT_TYPES))
    ep.add_argument("--inactive", action="store_true")
    note = what.add_parser("note", help="add an internal note to a ticket")
    note.add_argument("ticket_id")
    note.add_argument("text")
    merge = what.add_parser("merge", help="merge a ticket into another")
    merge.add_argument("ticket_id")
    merge.add_argument("into_id")
    what.add_parser("outbox", help="count webhook deliveries by status")


def run(args: argparse.Namespace, *, prog: str = "reference", project: bool = False) -> int:
    """Run a parsed subcommand; bad configuration is one line on stderr and exit code 2."""
    from tixallo_qa.reference.seed import SeedError
    from tixallo_qa.reference.store import StoreError

    try:
        if args.action == "serve":
            return _serve(args, project=project)
        if args.action == "seed":
            return _seed(args)
        return _admin(args)
    except (ConfigError, UnknownFaultError, PortInUseError, StoreError, SeedError) as exc:
        print(f"{prog} {args.action}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host,
        port=args.port,
        db_path=args.db,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        faults=tuple(args.fault),
        webhook_timeout=args.webhook_timeout,
        webhook_retries=parse_retries(args.webhook_retries),
        webhook_scheme=args.webhook_scheme,
        config_file=args.config,
        ready_file=args.ready_file,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        ca_bundle=args.ca_bundle,
    )


def _serve(args: argparse.Namespace, *, project: bool) -> int:
    from tixallo_qa.reference import server

    if args.list_faults:
        from tixallo_qa.reference.faults import CATALOGUE

        for f in CATALOGUE:
            print(f"{f.plant:42} {f.family:15} {f.label}")
        return 0
    if project and args.db == ":memory:":
        # The seed and the server open the database apart, and each :memory: connection is a
        # database of its own: a throwaway file, gone when the server stops, keeps them one.
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tixallo-reference-") as scratch:
            args.db = str(Path(scratch) / "reference.sqlite3")
            return _serve(args, project=project)
    tls_settings: dict[str, str] = {}
    if project and args.tls and not args.tls_cert:
        from tixallo_qa.reference.tls import make_local_ca

        made = make_local_ca(PROJECT_TLS)
        args.tls_cert, args.tls_key = str(made.cert), str(made.key)
        # Clients trust exactly this CA; the settings file tells them so.
        tls_settings["TIXALLO_CA_BUNDLE"] = str(made.ca.resolve())
        print(
            f"serving HTTPS with a local CA: trust {made.ca} (TIXALLO_CA_BUNDLE)", file=sys.stderr
        )
    if not project:
        return server.serve(_config(args), on_ready=server.announce)
    config = _config(args)
    settings = _project_settings(args)

    def ready(base_url: str, port: int) -> None:
        full = {
            "TIXALLO_BASE_URL": base_url,
            **settings,
            **tls_settings,
            # The window its 429s state (the contract suite checks them against it).
            "TIXALLO_RATE_WINDOW": f"{config.rate_window:g}",
            "TIXALLO_RATE_LIMIT": str(config.rate_limit),
        }
        from tixallo_qa.reference.seed import format_settings, write_env

        write_env(args.env_out, full)
        sys.stdout.write(format_settings(full))
        sys.stdout.flush()
        print(
            f"reference deployment listening on {base_url}; settings written to {args.env_out}",
            file=sys.stderr,
            flush=True,
        )

    return server.serve(config, on_ready=ready)


def _project_settings(args: argparse.Namespace) -> dict[str, str]:
    """Seed the project database when empty; otherwise read the settings its seed wrote."""
    from urllib.parse import urlsplit

    from tixallo_qa.core.settings import SettingsError, parse_env_file
    from tixallo_qa.reference.seed import seed_store
    from tixallo_qa.reference.store import Store

    if args.fresh and args.db != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
    if args.db != ":memory:":
        Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    sink = _sink_url(args.sink_url)
    store = Store(args.db)
    try:
        if store.is_empty():
            settings = seed_store(
                store,
                sink_url=sink.root if sink else None,
                webhook_path=sink.path if sink else DEFAULT_SINK_PATH,
            )
        elif os.path.exists(args.env_out):
            try:
                saved = parse_env_file(args.env_out)
            except SettingsError as exc:
                raise ConfigError(str(exc)) from None
            # What this start sets afresh (the URL, the limit and window, TLS) is not reloaded.
            fresh = ("TIXALLO_BASE_URL", "TIXALLO_RATE_LIMIT", "TIXALLO_RATE_WINDOW")
            settings = {k: v for k, v in saved.items() if k not in (*fresh, "TIXALLO_CA_BUNDLE")}
        else:
            raise ConfigError(
                f"database {args.db} is seeded but its settings file {args.env_out} is missing "
                "(keys are stored only hashed): run with --fresh to reseed"
            )
    finally:
        store.close()
    if sink is not None and "TIXALLO_SINK_PORT" not in settings:
        parts = urlsplit(sink.root)
        settings["TIXALLO_SINK_HOST"] = parts.hostname or "127.0.0.1"
        settings["TIXALLO_SINK_PORT"] = str(parts.port or (443 if parts.scheme == "https" else 80))
        if sink.path != DEFAULT_SINK_PATH:
            settings["TIXALLO_SINK_PATH"] = sink.path
    return settings


def _sink_url(url: str | None, path: str = DEFAULT_SINK_PATH) -> SinkUrl | None:
    """``--sink-url`` as the sink's root or its full delivery URL; says which on stderr."""
    if not url:
        return None
    from tixallo_qa.core import sinkurl

    try:
        parsed = sinkurl.parse(url, path)
    except ValueError as exc:
        raise ConfigError(f"--sink-url {exc}") from None
    print(parsed.explain(), file=sys.stderr, flush=True)
    return parsed


def _seed(args: argparse.Namespace) -> int:
    from tixallo_qa.reference.seed import format_settings, seed, write_env

    if args.db != ":memory:":
        Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    sink = _sink_url(args.sink_url, args.webhook_path)
    settings = seed(
        args.db,
        sink_url=sink.root if sink else None,
        webhook_secret=args.webhook_secret,
        pool_size=args.pool_size,
        webhook_path=sink.path if sink else args.webhook_path,
    )
    # Keys are shown here once, like the Tixallo app does when a key is created.
    sys.stdout.write(format_settings(settings))
    if args.env_out:
        write_env(args.env_out, settings)
        print(f"settings written to {args.env_out}", file=sys.stderr)
    return 0


def _admin(args: argparse.Namespace) -> int:
    from tixallo_qa.reference.store import Store

    store = Store(args.db)
    try:
        handler = {
            "workspace": _admin_workspace,
            "key": _admin_key,
            "endpoint": _admin_endpoint,
            "note": _admin_note,
            "merge": _admin_merge,
            "outbox": _admin_outbox,
        }[args.admin_action]
        return handler(store, args)
    finally:
        store.close()


def _admin_workspace(store: Store, args: argparse.Namespace) -> int:
    if args.op == "list":
        for ws_id, name in store.workspaces():
            print(f"{ws_id}  {name}")
        return 0
    if not args.name:
        raise ConfigError("workspace add: give the workspace name")
    with store.tx():
        print(store.create_workspace(args.name))
    return 0


def _admin_key(store: Store, args: argparse.Namespace) -> int:
    if args.op == "list":
        for key_id, ws, prefix, label, revoked in store.api_keys():
            state = f"revoked {revoked}" if revoked else "active"
            print(f"{key_id}  {ws}  {prefix}…  {label or '-'}  {state}")
        return 0
    if args.op == "revoke":
        if not args.target or not store.revoke_key(args.target):
            raise ConfigError("key revoke: no active key with that id or value (see 'key list')")
        return 0
    ws_id = store.workspace_id(args.workspace or "")
    if ws_id is None:
        raise ConfigError(
            f"key add: no workspace {args.workspace!r}: pass --workspace NAME (see 'workspace list')"
        )
    with store.tx():
        new_key_id, token = store.create_key(ws_id, args.label)
    # The key is shown once, as the Tixallo app does; only its hash is stored.
    print(f"key_id={new_key_id}\nkey={token}")
    return 0


def _admin_endpoint(store: Store, args: argparse.Namespace) -> int:
    import secrets

    if args.op == "list":
        for ep_id, ws, url, subscribed, active in store.endpoints():
            print(f"{ep_id}  {ws}  {url}  {subscribed}  {'active' if active else 'inactive'}")
        return 0
    if args.op in ("enable", "disable"):
        if not args.target or not store.set_endpoint_active(args.target, args.op == "enable"):
            raise ConfigError(f"endpoint {args.op}: no endpoint with that id (see 'endpoint list')")
        return 0
    ws_id = store.workspace_id(args.workspace or "")
    if ws_id is None:
        raise ConfigError(f"endpoint add: no workspace {args.workspace!r}: pass --workspace NAME")
    if not args.url or not args.url.startswith(("http://", "https://")):
        raise ConfigError("endpoint add: pass --url with an http(s) URL")
    events = tuple(e.strip() for e in args.events.split(",") if e.strip())
    if not events or any(e not in EVENT_TYPES for e in events):
        raise ConfigError(f"endpoint add: --events must be among {', '.join(EVENT_TYPES)}")
    secret = args.secret or "whsec_" + secrets.token_urlsafe(24)
    with store.tx():
        ep_id = store.add_endpoint(ws_id, args.url, secret, events, not args.inactive)
    print(f"endpoint_id={ep_id}\nsecret={secret}")
    return 0


def _admin_note(store: Store, args: argparse.Namespace) -> int:
    from tixallo_qa.reference.tickets import Tickets

    if store.ticket(args.ticket_id) is None:
        raise ConfigError(f"note: no ticket {args.ticket_id}")
    print(Tickets(store).add_note(args.ticket_id, args.text))
    return 0


def _admin_merge(store: Store, args: argparse.Namespace) -> int:
    if store.ticket(args.ticket_id) is None or store.ticket(args.into_id) is None:
        raise ConfigError("merge: both tickets must exist")
    with store.tx():
        store.merge(args.ticket_id, args.into_id)
    return 0


def _admin_outbox(store: Store, args: argparse.Namespace) -> int:
    for status, count in sorted(store.outbox_counts().items()):
        print(f"{status}={count}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tixallo_qa.reference", description="The Tixallo v1 reference deployment."
    )
    add_subcommands(parser)
    args = parser.parse_args(argv)
    return run(args, prog="reference")
