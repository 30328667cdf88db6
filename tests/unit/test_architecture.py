"""The import directions of ARCHITECTURE.md, checked on the source (every import, at any depth)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FOUNDATION = {
    "tixallo_qa.settings",
    "tixallo_qa.spec",
    "tixallo_qa.redact",
    "tixallo_qa.netutil",
    "tixallo_qa.ratelimit",
    "tixallo_qa.core.histogram",
}
PROJECT = ("tixallo_qa", "reference", "webhook_sink", "contracts", "load", "bench")
# Only these run inside locust's own (gevent-patched) processes.
LOCUST_HOMES = ("load/scenario/", "bench/_locust_raw.py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _violations(files: list[Path], allowed) -> list[str]:
    bad = []
    for path in files:
        for name in sorted(_imports(path)):
            top = name.split(".")[0]
            if top in PROJECT and not allowed(name):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def _is_foundation(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FOUNDATION) or name in (
        "tixallo_qa",
        "tixallo_qa.core",
    )


def test_foundation_imports_nothing_else_of_the_project() -> None:
    files = [ROOT / (m.replace(".", "/") + ".py") for m in sorted(FOUNDATION)]
    assert _violations(files, _is_foundation) == []


@pytest.mark.parametrize("package", ["reference", "webhook_sink"])
def test_deployment_and_sink_import_only_the_foundation(package: str) -> None:
    assert (
        _violations(_files(package), lambda n: _is_foundation(n) or n.split(".")[0] == package)
        == []
    )


def test_contracts_and_load_never_import_each_other() -> None:
    assert _violations(_files("contracts"), lambda n: n.split(".")[0] != "load") == []
    assert _violations(_files("load"), lambda n: n.split(".")[0] != "contracts") == []


def test_locust_is_imported_only_inside_locust_processes() -> None:
    offenders = []
    for path in _files(*PROJECT, "tests"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(LOCUST_HOMES):
            continue
        if any(name.split(".")[0] in ("locust", "gevent") for name in _imports(path)):
            offenders.append(rel)
    assert offenders == []
