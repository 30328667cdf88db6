"""What a person watches during a run: one line per phase with a spinner, counts and elapsed time."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from ._html import format_duration

MARKS = {
    "passed": "[green]✓[/]",
    "failed": "[bold red]✗[/]",
    "skipped": "[yellow]–[/]",
    "error": "[bold red]![/]",
}
TICK = 0.5  # seconds between refreshes of a phase's counts


@dataclass
class PhaseHandle:
    """Lets the phase's body report how it ended and what it counted."""

    status: str = "passed"
    note: str = ""
    started: float = 0.0

    def done(self, status: str, note: str = "") -> None:
        self.status, self.note = status, note

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


LOG_EVERY = 30.0  # seconds between progress lines in a log (no terminal)


def _failed_status(exc: BaseException, status: str) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "error" if status == "passed" else status


class RunProgress:
    """Live progress on a terminal, plain lines in a log, nothing with ``quiet``."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                SpinnerColumn(finished_text=" "),
                TextColumn("{task.fields[mark]} [bold]{task.description:<10}[/]"),
                BarColumn(bar_width=24),
                TimeElapsedColumn(),
                TextColumn("{task.fields[info]}"),
                console=console,
                transient=False,
            )

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _log_measure(
        self,
        name: str,
        handle: PhaseHandle,
        measure: Callable[[float], tuple[float, float, str]] | None,
    ) -> threading.Event | None:
        """In a log: the measure's words every ``LOG_EVERY`` seconds; set the event to stop."""
        if measure is None:
            return None
        stop = threading.Event()

        def log() -> None:
            while not stop.wait(LOG_EVERY):
                with contextlib.suppress(Exception):
                    self.console.print(
                        f"{name}: {measure(handle.elapsed)[2]}", highlight=False, soft_wrap=True
                    )

        threading.Thread(target=log, name=f"progress-log-{name}", daemon=True).start()
        return stop

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(Text(text), soft_wrap=True)

    @contextlib.contextmanager
    def phase(
        self,
        name: str,
        *,
        total: float | None = None,
        counter: Callable[[], str] | None = None,
        measure: Callable[[float], tuple[float, float, str]] | None = None,
    ) -> Iterator[PhaseHandle]:
        """Show ``name`` running until the block ends; ``total`` seconds makes the bar time-based.

        ``measure(elapsed)`` gives ``(done, total, words)`` instead: a bar of requests done with
        the time left the pacing allows (``core.plan``); a log gets its words every ``LOG_EVERY``.
        """
        handle = PhaseHandle(started=time.monotonic())
        progress = self._progress
        if progress is None:
            if not self.quiet:
                self.console.print(f"{name}: running…", highlight=False, soft_wrap=True)
            logger = self._log_measure(name, handle, measure) if not self.quiet else None
            try:
                yield handle
            except BaseException as exc:
                handle.status = _failed_status(exc, handle.status)
                raise
            finally:
                if logger is not None:
                    logger.set()
                if not self.quiet:
                    note = f" ({handle.note})" if handle.note else ""
                    self.console.print(
                        f"{name}: {handle.status} in {format_duration(handle.elapsed)}{note}",
                        highlight=False,
                    )
            return
        task = progress.add_task(name, total=total, mark=" ", info="")
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(TICK):
                info = ""
                if counter is not None:
                    # A count is decoration; never break the run for it.
                    with contextlib.suppress(Exception):
                        info = counter()
                if measure is not None:
                    with contextlib.suppress(Exception):
                        done, size, words = measure(handle.elapsed)
                        progress.update(task, total=size, completed=done)
                        info = f"{words}; {info}" if info else words
                    progress.update(task, info=info)
                    continue
                completed = min(handle.elapsed, total) if total else None
                progress.update(task, info=info, completed=completed)

        ticker = threading.Thread(target=tick, name=f"progress-{name}", daemon=True)
        ticker.start()
        try:
            yield handle
        except BaseException as exc:
            handle.status = _failed_status(exc, handle.status)
            raise
        finally:
            stop.set()
            ticker.join()
            size = total or 1.0
            progress.update(
                task,
                total=size,
                completed=size,
                mark=MARKS.get(handle.status, " "),
                info=handle.note,
            )
            progress.stop_task(task)
