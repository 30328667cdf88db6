"""What a load run does: the scenario mix, the load model, its size and its length."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tixallo_qa.core import spec
from tixallo_qa.load.safety import DEFAULT_DURATION, MAX_DURATION, LoadRefusedError

MODELS = ("closed", "open")
USER_CLASSES = ("integrator", "agent")
# The actions of each user class: integrators write, agents read.
ACTIONS = {"integrator": ("create", "message"), "agent": ("list", "get")}
# Requests of a burst are measured under their own names ("POST /tickets (burst)"): N
# requests at one instant queue up in any server, so their latency is shown but not gated, and
# the endpoints' own gates keep measuring the steady mix.
BURST = " (burst)"
ENDPOINTS = {
    "create": "POST /tickets",
    "message": "POST /tickets/{id}/messages",
    "list": "GET /tickets",
    "get": "GET /tickets/{id}",
}


@functools.cache
def list_limit() -> int:
    """The page size the list action asks for: the spec's default."""
    return int(spec.limit_parameter().get("default", 20))


@functools.cache
def list_path() -> str:
    """The path the list action requests: ``/tickets`` at the spec's default page size."""
    return f"/tickets?limit={list_limit()}"


@dataclass(frozen=True)
class LoadOptions:
    """One load run's knobs; every field has a default that suits the reference deployment."""

    model: str = "closed"
    duration: float = DEFAULT_DURATION
    # closed model
    users: int = 20
    spawn_rate: float | None = None  # users started per second; None = all within a second
    think_min: float = 0.05
    think_max: float = 0.25
    # open model: arrivals per second, ramping from ``rate`` to ``ramp_to`` when that is set
    rate: float | None = None
    ramp_to: float | None = None
    max_in_flight: int = 200
    late_threshold: float = 0.05  # seconds after the intended start a request counts as late
    # the mix
    user_weights: Mapping[str, float] = field(
        default_factory=lambda: {"integrator": 1.0, "agent": 1.0}
    )
    task_weights: Mapping[str, float] = field(
        default_factory=lambda: {"create": 3.0, "message": 2.0, "list": 2.0, "get": 3.0}
    )
    # the burst (closed model): ``burst_size`` simultaneous requests every ``burst_every``
    # seconds, in turn N creates, N messages at one ticket, N reads by id of tickets earlier
    # bursts created and N lists, spread over the key pool
    burst_size: int = 12
    burst_every: float = 1.0
    processes: int = 1
    measure_limiter: bool = False
    # Stop the run at the first 5xx, the first 2xx answer not as documented, or the first
    # transport failure on a loopback target: each
    # already breaks its default gate (0), and every gate is then judged on what was sent (the
    # selftest: a caught fault needs no more load).
    stop_on_error: bool = False
    webhooks: bool = True
    # tickets read back after the run (each with its messages); None = every one it created
    readback_sample: int | None = None
    # seconds the read-back may wait for key budget on a rate-limited target (coverage is stated)
    readback_seconds: float = 30.0

    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **changes: Any) -> LoadOptions:
        return dataclasses.replace(self, **changes)

    @property
    def think_mean(self) -> float:
        return (self.think_min + self.think_max) / 2

    @property
    def bursts(self) -> bool:
        """Whether the burst user runs (closed model only)."""
        return self.model == "closed" and self.burst_size > 0

    @property
    def burst_rate(self) -> float:
        """Requests per second the bursts add (0 when off)."""
        return self.burst_size / self.burst_every if self.bursts else 0.0

    @property
    def window(self) -> float:
        """Seconds of one latency window (trend, charts): about 40 windows a run, at least 1 s."""
        return float(max(1, round(self.duration / 40)))

    @property
    def peak_rate(self) -> float | None:
        """The open model's highest arrival rate (None for the closed model)."""
        if self.model != "open" or self.rate is None:
            return None
        return max(self.rate, self.ramp_to if self.ramp_to is not None else self.rate)

    def action_mix(self) -> dict[str, float]:
        """Share of each action in the whole traffic (user weight x task weight, normalised)."""
        raw: dict[str, float] = {}
        for cls, actions in ACTIONS.items():
            cls_weight = self.user_weights.get(cls, 0.0)
            cls_total = sum(self.task_weights.get(a, 0.0) for a in actions)
            for a in actions:
                raw[a] = (
                    cls_weight * self.task_weights.get(a, 0.0) / cls_total if cls_total else 0.0
                )
        total = sum(raw.values())
        return {a: w / total for a, w in raw.items()} if total else raw

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["user_weights"] = dict(self.user_weights)
        data["task_weights"] = dict(self.task_weights)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def parse_weights(text: str, allowed: tuple[str, ...], flag: str) -> dict[str, float]:
    """``"create=3,message=2"`` -> ``{"create": 3.0, "message": 2.0}`` (names checked)."""
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or name not in allowed or weight < 0:
            raise LoadRefusedError(
                f"{flag} {text!r}: use NAME=WEIGHT pairs with NAME in {', '.join(allowed)}"
            )
        out[name] = weight
    return out


def parse_think_time(text: str) -> tuple[float, float]:
    """``"0.5:1.5"`` or ``"1"`` -> (min, max) seconds."""
    low, sep, high = text.partition(":")
    try:
        lo = float(low)
        hi = float(high) if sep else lo
    except ValueError:
        raise LoadRefusedError(
            f"--think-time {text!r}: use MIN:MAX seconds, e.g. 0.5:1.5"
        ) from None
    return lo, hi


def _validate(o: LoadOptions) -> None:
    if o.model not in MODELS:
        raise LoadRefusedError(f"model {o.model!r}: choose {' or '.join(MODELS)}")
    if not 0 < o.duration <= MAX_DURATION:
        raise LoadRefusedError(
            f"duration {o.duration:g} s: must be more than 0 and at most {MAX_DURATION:.0f} s"
        )
    if o.users < 1:
        raise LoadRefusedError(f"--users {o.users}: use at least 1")
    if o.think_min < 0 or o.think_max < o.think_min:
        raise LoadRefusedError(f"--think-time {o.think_min:g}:{o.think_max:g}: use 0 <= MIN <= MAX")
    if o.model == "open":
        if o.rate is None or o.rate < 0 or (o.ramp_to is not None and o.ramp_to < 0):
            raise LoadRefusedError("the open model needs --rate (arrivals per second, >= 0)")
        if o.peak_rate == 0:
            raise LoadRefusedError("--rate 0 with no --ramp-to sends nothing: give a positive rate")
    if o.max_in_flight < 1:
        raise LoadRefusedError(f"--max-in-flight {o.max_in_flight}: use at least 1")
    if o.late_threshold <= 0:
        raise LoadRefusedError(
            f"--late-threshold {o.late_threshold:g}: use a positive number of seconds"
        )
    if o.processes < 1:
        raise LoadRefusedError(f"--processes {o.processes}: use at least 1")
    if o.readback_sample is not None and o.readback_sample < 0:
        raise LoadRefusedError(f"--readback-sample {o.readback_sample}: use 0 or more")
    if o.readback_seconds < 0:
        raise LoadRefusedError(f"--readback-seconds {o.readback_seconds:g}: use 0 or more")
    if o.burst_size < 0:
        raise LoadRefusedError(f"--burst-size {o.burst_size}: use 0 (off) or more")
    if o.burst_every <= 0:
        raise LoadRefusedError(f"--burst-every {o.burst_every:g}: use a positive number of seconds")
    unknown = set(o.user_weights) - set(USER_CLASSES)
    if unknown or not any(v > 0 for v in o.user_weights.values()):
        raise LoadRefusedError(
            f"user weights {dict(o.user_weights)}: name {' and/or '.join(USER_CLASSES)}, one weight > 0"
        )
    all_actions = tuple(a for acts in ACTIONS.values() for a in acts)
    if set(o.task_weights) - set(all_actions):
        raise LoadRefusedError(
            f"task weights {dict(o.task_weights)}: name only {', '.join(all_actions)}"
        )
    for cls, acts in ACTIONS.items():
        if o.user_weights.get(cls, 0) > 0 and not any(o.task_weights.get(a, 0) > 0 for a in acts):
            raise LoadRefusedError(
                f"the {cls} user has no task with a weight > 0 ({', '.join(acts)})"
            )


def dumps(data: Mapping[str, Any]) -> str:
    """Compact JSON for handing a plan to the locust process on its command line."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class ChildPlan:
    """What the locust processes need besides the ``TIXALLO_*`` settings: no secrets, JSON-safe."""

    options: LoadOptions
    run_id: str
    out_dir: str  # where the master writes its files
    slices: int = 1  # the key pool is split into this many disjoint slices, one per load process
    streams: int = 1  # open model: interleaved timetables, one per load process
    sink_url: str | None = None
    sink_since: int = 0  # the sink's last seq before the run: older events are not ours
    webhook_timeout: float = 10.0
    request_timeout: float = 10.0  # seconds before a request without an answer is a timeout
    stop_grace: float = 5.0  # seconds in-flight requests get to finish at the end
    distributed: bool = False  # workers on other machines (not forked by --processes)

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in (f.name for f in dataclasses.fields(self))}
        data["options"] = self.options.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChildPlan:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["options"] = LoadOptions.from_json(data["options"])
        return cls(**values)
