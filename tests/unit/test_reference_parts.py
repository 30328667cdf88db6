"""The reference deployment's small parts: fault catalogue, limiter, signature, seed, config."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from tixallo_qa.core.signing.tixallo import TixalloScheme
from tixallo_qa.reference import faults
from tixallo_qa.reference.config import ConfigError, ServerConfig, load_endpoints, parse_retries
from tixallo_qa.reference.limiter import SlidingWindowLimiter
from tixallo_qa.reference.seed import SeedError, seed_store
from tixallo_qa.reference.store import Store, hash_key

pytestmark = pytest.mark.unit

SOURCE = Path(faults.__file__).parent


def test_catalogue_size_families_and_labels() -> None:
    assert len(faults.CATALOGUE) >= 45
    assert len(set(faults.BY_PLANT)) == len(faults.CATALOGUE)
    assert {f.family for f in faults.CATALOGUE} == set(faults.FAMILIES)
    for fault in faults.CATALOGUE:
        assert re.fullmatch(r"[a-z0-9-]+", fault.name)
        assert fault.label.startswith("Planted bug: ") and "\n" not in fault.label


def test_every_fault_is_checked_in_the_code() -> None:
    code = "\n".join(
        p.read_text(encoding="utf-8") for p in SOURCE.glob("*.py") if p.name != "faults.py"
    )
    used = set(re.findall(r'\.on\("([a-z0-9-]+)"\)', code))
    assert used == set(faults.names()), set(faults.names()) ^ used


def test_fault_set_rejects_unknown_names() -> None:
    with pytest.raises(faults.UnknownFaultError, match="list-oldest-first"):
        faults.FaultSet(["nope"])
    with pytest.raises(KeyError):
        faults.FaultSet().on("not-in-catalogue")
    assert not faults.FaultSet()
    assert faults.FaultSet(["ratelimit-none"]).on("ratelimit-none")


def test_fault_parameters() -> None:
    planted = faults.FaultSet(["load-slow-reads=12.5", "stall"])
    assert planted.on("load-slow-reads") and planted.on("stall")
    assert planted.param("load-slow-reads", 300) == 12.5
    assert planted.param("stall", 4) == 4
    with pytest.raises(faults.UnknownFaultError, match="must be a number"):
        faults.FaultSet(["stall=often"])
    with pytest.raises(KeyError):
        planted.param("not-in-catalogue", 1)
    variant = faults.Fault("stall", "load", "Planted bug: x", 2.0)
    assert variant.plant == "stall=2" and faults.BY_NAME["stall"].plant == "stall"


def test_sliding_window_limiter() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(3, 10, clock=lambda: now[0])
    assert [limiter.hit("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("b")
    now[0] = 9.9
    assert not limiter.hit("a")
    now[0] = 10.0
    assert limiter.hit("a")
    assert SlidingWindowLimiter(0, 60).hit("x")
    limiter.record("anon")
    limiter.record("anon")
    limiter.record("anon")
    assert not limiter.hit("c", also="anon")


def test_signature_matches_part_b() -> None:
    body = b'{"event_type":"ticket.created"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    headers = TixalloScheme("s3cret").signature(body, delivery_id="d", timestamp=1700000000)
    assert headers["X-Tixallo-Signature"] == f"sha256={expected}"


def test_seed_fixtures_and_refusal() -> None:
    store = Store(":memory:")
    settings = seed_store(store, sink_url="http://127.0.0.1:8787", pool_size=3)
    assert len(settings["TIXALLO_API_KEY"].split(",")) == 3
    assert set(settings) == {
        "TIXALLO_API_KEY", "TIXALLO_OTHER_API_KEY", "TIXALLO_REVOKED_API_KEY", "TIXALLO_RATE_LIMIT_API_KEY",
        "TIXALLO_MERGED_TICKET_ID", "TIXALLO_NOTED_TICKET_ID", "TIXALLO_INTERNAL_NOTE_MARKER", "TIXALLO_WEBHOOK_SECRET",
    }  # fmt: skip
    revoked = store.key_for_token(settings["TIXALLO_REVOKED_API_KEY"])
    assert revoked is not None and revoked[2]
    other = store.key_for_token(settings["TIXALLO_OTHER_API_KEY"])
    mine = store.key_for_token(settings["TIXALLO_API_KEY"].split(",")[0])
    assert other and mine and other[1] != mine[1]
    # Keys are stored only hashed.
    stored = store.conn.execute("SELECT group_concat(key_hash) FROM api_keys").fetchone()[0]
    other = settings["TIXALLO_OTHER_API_KEY"]
    assert other not in stored and hash_key(other) in stored
    assert store.internal_notes(settings["TIXALLO_NOTED_TICKET_ID"])[0].endswith(
        settings["TIXALLO_INTERNAL_NOTE_MARKER"]
    )
    assert store.outbox_counts() == {}  # seeding fires no webhook
    with pytest.raises(SeedError, match="already seeded"):
        seed_store(store, sink_url=None)


def test_seed_without_sink_makes_no_endpoint() -> None:
    store = Store(":memory:")
    assert "TIXALLO_WEBHOOK_SECRET" not in seed_store(store, sink_url=None)
    assert store.endpoints() == []


def test_config_validation(tmp_path: Path) -> None:
    assert parse_retries("1,5,25") == (1.0, 5.0, 25.0)
    with pytest.raises(ConfigError):
        parse_retries("1,x")
    with pytest.raises(ConfigError):
        ServerConfig(rate_limit=-1)
    good = tmp_path / "e.toml"
    good.write_text(
        '[[endpoints]]\nworkspace = "w"\nurl = "http://h/x"\nsecret = "s"\n', encoding="utf-8"
    )
    [endpoint] = load_endpoints(str(good))
    assert endpoint.events == ("ticket.created", "ticket.message.created") and endpoint.active
    bad = tmp_path / "e.json"
    bad.write_text(
        '{"endpoints": [{"workspace": "w", "url": "http://h", "secret": "s", "events": ["x"]}]}',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="events"):
        load_endpoints(str(bad))
