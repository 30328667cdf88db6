"""The contract suite's pytest plugin (the ``tixallo`` entry point): options, collection, results.

Installed with the package, so ``pytest --pyargs tixallo_qa.contracts`` runs the suite from any
repository with the same ``TIXALLO_*`` settings (or ``--tixallo-env-file``); ``pytest contracts``
in a checkout runs it too. The suite's modules are always imported under their one name,
``tixallo_qa.contracts.*``, whichever path pytest was given, and its fixtures are registered only
when the suite itself is collected, so other pytest runs see nothing of it but its options.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tixallo_qa.contracts._catalogue import FINAL, MARKER_HELP, WAITS, check_of

FIXTURES = "tixallo-contracts"
EARLY = "tixallo-early"
RESULTS = "tixallo-results"
ORACLES = "tixallo-oracles"


def suite_dir() -> Path:
    """The suite's folder, as the package is imported (a symlink under tixallo_qa/ in a checkout)."""
    return Path(__file__).absolute().parent


def _is_suite(path: Path) -> bool:
    return path.resolve() == suite_dir().resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tixallo", "tixallo-qa contract suite")
    group.addoption(
        "--tixallo-env-file",
        metavar="PATH",
        help="read TIXALLO_* settings from this file (or set TIXALLO_ENV_FILE)",
    )
    group.addoption(
        "--tixallo-results", metavar="PATH", help="write per-check results as JSON here"
    )
    group.addoption(
        "--tixallo-seed",
        type=int,
        metavar="N",
        help="seed of the generated checks (the same seed sends the same examples; default random)",
    )
    group.addoption(
        "--tixallo-select",
        metavar="NAMES",
        help="run only these checks or families (comma-separated)",
    )
    group.addoption(
        "--tixallo-progress",
        metavar="PATH",
        help="keep this file updated with the requests sent per identity (for a progress bar)",
    )
    group.addoption(
        "--tixallo-shared-webhook-endpoint",
        action="store_true",
        help="the sink's endpoint also gets events the suite did not cause (skips the no-unexpected-events check)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    from tixallo_qa.contracts._state import state_of

    seed = config.getoption("--tixallo-seed")
    state_of(config).seed = int(seed) if seed is not None else random.getrandbits(63)


def _activate(config: pytest.Config) -> None:
    """Register the suite's fixtures, its results recorder and its oracles' hooks (once)."""
    manager = config.pluginmanager
    if manager.get_plugin(FIXTURES) is None:
        from tixallo_qa.contracts import _early, _fixtures
        from tixallo_qa.contracts._oracle_hooks import OraclePlugin
        from tixallo_qa.contracts._recorder import ResultsPlugin

        manager.register(_fixtures, FIXTURES)
        manager.register(_early, EARLY)
        manager.register(ResultsPlugin(config, config.getoption("--tixallo-results")), RESULTS)
        manager.register(OraclePlugin(config), ORACLES)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not _is_suite(path):
        return None
    _activate(parent.config)
    # A plain directory, not a Package: a Package imports __init__.py by its file path, which
    # in a checkout would load the suite a second time as top-level ``contracts``.
    return pytest.Dir.from_parent(parent, path=path)


class _SuiteModule(pytest.Module):
    """A test module of the suite, imported by its package name rather than its file path."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module(f"{__package__}.{self.path.stem}")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if not _is_suite(module_path.parent):
        return None
    return _SuiteModule.from_parent(parent, path=module_path)


def place(item: pytest.Item, stops_at_first: bool = False) -> float:
    """Where ``item`` runs in the session (``_catalogue.FINAL``).

    A run that stops at its first failure (``--exitfirst``) judges the waiting checks among the
    named ones: the fault one of them catches then ends the run without the generated tests.
    """
    at = float(getattr(getattr(item, "function", None), FINAL, 0))
    return 0.0 if stops_at_first and at == WAITS else at


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.get_plugin(FIXTURES) is None:
        return  # the suite is not part of this run
    selected = {
        n.strip() for n in (config.getoption("--tixallo-select") or "").split(",") if n.strip()
    }
    if selected:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            name, family, _ = check_of(item)
            (keep if {name, name.split("[")[0], family} & selected else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep
    # Stable sort: checks that start a long wait first, the generated tests after the named
    # checks, then the checks that wait out a window, sweeps (webhooks for every create, the
    # marker scan) after everything else, and the oracles' reports after the sweeps.
    stops_at_first = config.getoption("maxfail", 0) == 1
    items.sort(key=lambda item: place(item, stops_at_first))
    for item in items:
        # schemathesis 4.32's lazy schemas read and rewrite `node._nodeid`, which pytest 9.2
        # replaced with `_id`; a plain attribute keeps them working (the real node id is untouched).
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid  # type: ignore[attr-defined]
