"""Writes the selftest's report folder: selftest.md, selftest.json, selftest.html; no secret in any."""

from __future__ import annotations

import json
from pathlib import Path

from tixallo_qa.core.redact import Redactor
from tixallo_qa.selftest import _html
from tixallo_qa.selftest._render import markdown
from tixallo_qa.selftest._result import SelftestResult

MARKDOWN, JSON, HTML = "selftest.md", "selftest.json", "selftest.html"


def write_report(
    result: SelftestResult, folder: Path, secrets: tuple[str, ...] = ()
) -> dict[str, Path]:
    """Write the three files into ``folder``, then scrub every file there of ``secrets``."""
    from tixallo_qa.report import scrub_folder

    folder.mkdir(parents=True, exist_ok=True)
    redactor = Redactor(secrets)
    texts = {
        JSON: json.dumps(result.to_dict(), indent=2) + "\n",
        MARKDOWN: markdown(result),
        HTML: _html.render(result),
    }
    paths = {}
    for name, text in texts.items():
        path = folder / name
        path.write_text(redactor.text(text), encoding="utf-8")
        paths[name] = path
    # The per-job files (suite results, st reports, load summaries) were redacted where they were
    # written; this is the last guard for all of them.
    scrub_folder(folder, secrets)
    return paths
