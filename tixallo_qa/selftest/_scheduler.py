"""Runs independent jobs N at a time, longest first, reporting each as it finishes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Done(Generic[T, R]):
    """A finished job: its input, its result or the exception it raised, and its place."""

    job: T
    result: R | None
    error: BaseException | None
    index: int  # 1-based, in order of finishing
    total: int


def longest_first(jobs: Sequence[T], estimate: Callable[[T], float]) -> list[T]:
    """Longest estimated jobs first, so the last to start are short (a smaller makespan); stable."""
    return sorted(jobs, key=lambda j: -estimate(j))


def run_all(
    jobs: Sequence[T],
    work: Callable[[T], R],
    *,
    parallel: int,
    on_done: Callable[[Done[T, R]], None] | None = None,
    waits: Callable[[T], bool] | None = None,
    beside: Callable[[T], bool] | None = None,
    beside_parallel: int = 1,
) -> list[Done[T, R]]:
    """Run ``work(job)`` for every job, ``parallel`` at a time; results in order of finishing.

    Each job runs in a thread: the work itself happens in child processes (deployments, pytest,
    st, locust), so threads only wait. Jobs for which ``waits(job)`` is true spend nearly all
    their time waiting (on a rate limit, on a slow deployment), so they run beside the
    ``parallel`` slots instead of holding one. Jobs for which ``beside(job)`` is true wait for
    half their time (a load run paced in time) and run in a lane of their own,
    ``beside_parallel`` at a time. A job that raises is reported with its exception and the
    others go on. Ctrl+C cancels the jobs not yet started and waits for the running ones.
    """
    if parallel < 1 or beside_parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {min(parallel, beside_parallel)}")
    flags = [waits is not None and waits(j) for j in jobs]
    idle = [j for j, f in zip(jobs, flags, strict=True) if f]
    lane = [j for j, f in zip(jobs, flags, strict=True) if not f and beside and beside(j)]
    busy = [j for j, f in zip(jobs, flags, strict=True) if not f and not (beside and beside(j))]
    finished: list[Done[T, R]] = []
    # One pool per lane, each as wide as the lane: a thread never waits for a slot, so no lane
    # can hold up another. The waiting jobs each get a thread of their own at once.
    with (
        ThreadPoolExecutor(
            max_workers=max(1, len(idle)), thread_name_prefix="selftest-wait"
        ) as waiting,
        ThreadPoolExecutor(
            max_workers=beside_parallel, thread_name_prefix="selftest-lane"
        ) as laned,
        ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="selftest") as slotted,
    ):
        pending: dict[Future[R], T] = {waiting.submit(work, job): job for job in idle}
        pending.update({laned.submit(work, job): job for job in lane})
        pending.update({slotted.submit(work, job): job for job in busy})
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    error = future.exception()
                    result = None if error else future.result()
                    item = Done(job, result, error, len(finished) + 1, len(jobs))
                    finished.append(item)
                    if on_done is not None:
                        on_done(item)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return finished
