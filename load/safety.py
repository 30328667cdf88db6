"""What keeps a load run safe: loopback targets only unless opted in, and a bounded duration."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tixallo_qa.core.netutil import is_loopback_url

DEFAULT_DURATION = 15.0
MAX_DURATION = 3600.0  # hard cap: a run always stops by itself within an hour
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


class LoadRefusedError(ValueError):
    """The run was refused before it started; the message says why and what to do."""


def parse_duration(text: str | float) -> float:
    """``"15"``, ``"15s"``, ``"2m"``, ``"1h"`` -> seconds, refusing anything outside (0, MAX_DURATION]."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
        if not match:
            raise LoadRefusedError(
                f"--duration {text!r}: use seconds, or a number with s, m or h (e.g. 30s, 2m)"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_DURATION:
        raise LoadRefusedError(
            f"--duration {text!r}: must be more than 0 and at most {MAX_DURATION:.0f} s"
        )
    return seconds


def check_target(base_url: str, *, allow_remote: bool) -> None:
    """Refuse a non-loopback target unless ``allow_remote`` (the explicit opt-in) is given."""
    if is_loopback_url(base_url) or allow_remote:
        return
    host = urlsplit(base_url).hostname or base_url
    raise LoadRefusedError(
        f"{host} is not a loopback address: a load test sends real traffic to it. "
        "Pass --allow-remote to confirm you may load-test that deployment."
    )
