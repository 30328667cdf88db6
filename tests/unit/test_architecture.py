"""The import directions of ARCHITECTURE.md, checked on the source (every import, at any depth)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import tixallo_qa

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# The folders at the repo root that install as tixallo_qa.<name> (tixallo_qa/<name> links to them).
MAPPED = ("contracts", "load", "reference", "webhook_sink")
# The middle floor: the running target, between the parts it starts and the suites that use it.
TARGET = ("tixallo_qa.target",)
# The top floor: what a person runs.
TOP = ("tixallo_qa.cli", "tixallo_qa.commands", "tixallo_qa.report", "tixallo_qa.selftest")
TOP += ("tixallo_qa._doctor", "tixallo_qa.__main__")
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


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _violations(files: list[Path], allowed: Callable[[str], bool]) -> list[str]:
    bad = []
    for path in files:
        for name in sorted(_imports(path)):
            ours = name.split(".")[0] in ("tixallo_qa", *MAPPED, "bench")
            if ours and name != "tixallo_qa" and not allowed(name):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_old_top_level_names_are_gone() -> None:
    """contracts, load, reference, webhook_sink are imported only as tixallo_qa.<name>."""
    files = _files("tixallo_qa", *MAPPED, "tests", "bench")
    assert _violations(files, lambda n: not _within(n, *MAPPED)) == []


def test_foundation_imports_nothing_else_of_the_project() -> None:
    assert _violations(_files("tixallo_qa/core"), lambda n: _within(n, "tixallo_qa.core")) == []


@pytest.mark.parametrize("package", ["reference", "webhook_sink"])
def test_deployment_and_sink_import_only_the_foundation(package: str) -> None:
    own = f"tixallo_qa.{package}"
    assert _violations(_files(package), lambda n: _within(n, "tixallo_qa.core", own)) == []


def test_the_target_stands_on_the_deployment_and_the_sink() -> None:
    files = [ROOT / (m.replace(".", "/") + ".py") for m in TARGET]
    below = ("tixallo_qa.core", "tixallo_qa.reference", "tixallo_qa.webhook_sink", *TARGET)
    assert _violations(files, lambda n: _within(n, *below)) == []


@pytest.mark.parametrize(("package", "other"), [("contracts", "load"), ("load", "contracts")])
def test_suites_stand_below_the_top_floor_and_never_import_each_other(
    package: str, other: str
) -> None:
    forbidden = (f"tixallo_qa.{other}", "tixallo_qa.reference", *TOP)
    assert _violations(_files(package), lambda n: not _within(n, *forbidden)) == []


def test_locust_is_imported_only_inside_locust_processes() -> None:
    offenders = []
    for path in _files("tixallo_qa", *MAPPED, "bench", "tests"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(LOCUST_HOMES):
            continue
        if any(name.split(".")[0] in ("locust", "gevent") for name in _imports(path)):
            offenders.append(rel)
    assert offenders == []


def test_no_module_is_loaded_under_two_names() -> None:
    """Import every module of the package; no file of the project is in sys.modules twice."""
    for info in pkgutil.walk_packages(tixallo_qa.__path__, "tixallo_qa."):
        if ".scenario" in info.name or info.name.endswith("__main__"):
            continue  # locust's processes only; __main__ runs a command
        importlib.import_module(info.name)
    by_file: dict[str, list[str]] = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(ROOT) and ".venv" not in file:
            by_file.setdefault(str(Path(file).resolve()), []).append(name)
    twice = {f: names for f, names in by_file.items() if len(names) > 1 and "tests" not in f}
    assert twice == {}
