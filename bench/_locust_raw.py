"""Raw locust, no tixallo-qa code: ``FastHttpUser`` GETs one path (run only as a locust child).

``BENCH_PACING`` (seconds) gives each user locust's ``constant_pacing`` (its closed model at a
target rate); unset, users send back to back. ``BENCH_PATH`` (default ``/tickets``) and
``BENCH_KEY`` (sent as a bearer token when set) make it send the very request the load
generator beside it sends, so the two differ only in the generator's own work.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, constant_pacing, task

_PACING = float(os.environ.get("BENCH_PACING", "0") or 0)
_PATH = os.environ.get("BENCH_PATH") or "/tickets"
_HEADERS = (
    {"Authorization": f"Bearer {os.environ['BENCH_KEY']}"} if os.environ.get("BENCH_KEY") else None
)


class RawUser(FastHttpUser):
    """One user of locust's closed model."""

    wait_time = constant_pacing(_PACING) if _PACING > 0 else constant(0)

    @task
    def list_tickets(self) -> None:
        self.client.get(_PATH, name="/tickets", headers=_HEADERS)
