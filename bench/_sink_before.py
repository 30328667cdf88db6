"""The sink with one or both of its measured fixes undone: ``python -m bench._sink_before <sink flags>``.

``BENCH_UNDO`` names what to undo (comma-separated): ``schema`` validates every delivery with
jsonschema's ``iter_errors`` again (no jsonschema_rs fast path), ``gil`` keeps CPython's default
5 ms switch interval. sink_ingest runs these beside the current sink, so each fix's before/after
is measured in the same run.
"""

from __future__ import annotations

import os
import sys

from webhook_sink import payloads, server
from webhook_sink.__main__ import main

if __name__ == "__main__":
    undo = {u.strip() for u in os.environ.get("BENCH_UNDO", "schema,gil").split(",")}
    if "schema" in undo:
        payloads._fast_validator = lambda event_type: None  # type: ignore[assignment]
    if "gil" in undo:
        server.SWITCH_INTERVAL = sys.getswitchinterval()
    sys.exit(main())
