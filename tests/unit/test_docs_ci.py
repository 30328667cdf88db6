"""docs/ci.md's GitHub Actions workflow and GitLab CI job are valid YAML that run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tixallo_qa.cli import COMMANDS
from tixallo_qa.core.settings import SETTINGS

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def _blocks() -> list[dict]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def _tixallo_calls(script: str) -> list[list[str]]:
    """Every ``tixallo-qa ...`` command line of a script, as words (shell variables dropped)."""
    calls = []
    for line in script.splitlines():
        if "tixallo-qa " in line and not line.strip().startswith("#"):
            words = shlex.split(line.split("tixallo-qa ", 1)[1], comments=True)
            calls.append([w for w in words if not w.startswith("$")])
    return calls


def _parses(words: list[str]) -> None:
    """The command and its flags are ones tixallo-qa knows (argparse exits on an unknown one)."""
    import argparse
    import importlib

    name, *rest = words
    assert name in COMMANDS, name
    module = importlib.import_module(f"tixallo_qa.commands.{COMMANDS[name][0]}")
    parser = argparse.ArgumentParser(prog=f"tixallo-qa {name}")
    module.add_arguments(parser)
    parser.parse_args(rest)


def test_both_jobs_load_and_call_only_real_commands_and_settings() -> None:
    github, gitlab = (b for b in _blocks() if "jobs" in b or "verify-staging" in b)
    job = github["jobs"]["verify-staging"]
    steps = [s.get("run", "") for s in job["steps"]]
    known = {s.env for s in SETTINGS}
    assert set(k for k in job["env"] if k.startswith("TIXALLO_")) <= known
    script = "\n".join([*steps, *gitlab["verify-staging"]["script"]])
    calls = _tixallo_calls(script)
    assert {c[0] for c in calls} >= {"doctor", "run"}
    for call in calls:
        _parses(call)
    assert gitlab["verify-staging"]["artifacts"]["reports"]["junit"] == "reports/*/junit.xml"
    assert set(gitlab["verify-staging"]["variables"]) <= known


def test_the_shell_examples_use_real_commands() -> None:
    text = DOC.read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for call in _tixallo_calls(block):
            _parses([w.replace("<ts>", "20260101-000000") for w in call])
