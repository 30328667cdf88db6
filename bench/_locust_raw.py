"""Raw locust, no tixallo-qa code: ``FastHttpUser`` GETs ``/tickets`` (run only as a locust child).

``BENCH_PACING`` (seconds) gives each user locust's ``constant_pacing`` (its closed model at a
target rate); unset, users send back to back.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, constant_pacing, task

_PACING = float(os.environ.get("BENCH_PACING", "0") or 0)


class RawUser(FastHttpUser):
    """One user of locust's closed model."""

    wait_time = constant_pacing(_PACING) if _PACING > 0 else constant(0)

    @task
    def list_tickets(self) -> None:
        self.client.get("/tickets", name="/tickets")
