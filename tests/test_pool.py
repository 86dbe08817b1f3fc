"""The thread pool behind sync code: bounded, threads reused, calls cancelled
before they start are not run, shutdown and garbage collection stop the threads."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from quartlike.pool import ThreadPool

BOUND = 5.0


async def test_run_in_thread_returns_results_and_raises_errors() -> None:
    pool = ThreadPool(2, "t-pool")
    loop = asyncio.get_running_loop()
    try:
        name = await pool.run_in_thread(loop, lambda: threading.current_thread().name)
        assert name.startswith("t-pool_")
        assert name != threading.current_thread().name

        def fail() -> None:
            raise KeyError("boom")

        with pytest.raises(KeyError, match="boom"):
            await pool.run_in_thread(loop, fail)
    finally:
        pool.shutdown()


async def test_idle_threads_are_reused_and_the_count_is_bounded() -> None:
    pool = ThreadPool(2, "t-bound")
    loop = asyncio.get_running_loop()
    try:
        names = {
            await pool.run_in_thread(loop, lambda: threading.current_thread().name)
            for _ in range(20)
        }
        assert len(names) == 1  # one call at a time: one thread does them all

        release = threading.Event()
        running: list[str] = []
        lock = threading.Lock()

        def block() -> str:
            with lock:
                running.append(threading.current_thread().name)
            assert release.wait(BOUND)
            return threading.current_thread().name

        calls = [asyncio.ensure_future(pool.run_in_thread(loop, block)) for _ in range(5)]
        async with asyncio.timeout(BOUND):
            while len(running) < 2:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        assert len(running) == 2  # the other three wait for a free thread
        release.set()
        used = set(await asyncio.gather(*calls))
        assert len(used) == 2
        assert len(running) == 5
    finally:
        pool.shutdown()


async def test_a_call_cancelled_before_it_starts_does_not_run() -> None:
    pool = ThreadPool(1, "t-cancel")
    loop = asyncio.get_running_loop()
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = asyncio.ensure_future(pool.run_in_thread(loop, lambda: release.wait(BOUND)))
        await asyncio.sleep(0.02)
        queued = asyncio.ensure_future(pool.run_in_thread(loop, lambda: ran.append("queued")))
        await asyncio.sleep(0.02)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        assert await busy is True
        assert await pool.run_in_thread(loop, lambda: "after") == "after"
        assert ran == []
    finally:
        release.set()
        pool.shutdown()


def test_submit_is_the_executor_api_and_shutdown_refuses_new_calls() -> None:
    pool = ThreadPool(2, "t-submit")
    future = pool.submit(pow, 2, 10)
    assert future.result(BOUND) == 1024
    release = threading.Event()
    started = threading.Semaphore(0)

    def block() -> bool:
        started.release()
        return release.wait(BOUND)

    blockers = [pool.submit(block) for _ in range(2)]
    for _ in range(2):
        assert started.acquire(timeout=BOUND)
    queued = pool.submit(pow, 3, 3)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(pow, 1, 1)
    release.set()
    assert all(b.result(BOUND) for b in blockers)


def test_shutdown_finishes_queued_calls_and_stops_the_threads() -> None:
    pool = ThreadPool(1, "t-shutdown")
    done: list[int] = []
    for i in range(3):
        pool.submit(lambda i=i: (time.sleep(0.01), done.append(i)))
    pool.shutdown(wait=True)
    assert done == [0, 1, 2]
    assert not [t for t in threading.enumerate() if t.name.startswith("t-shutdown_")]


def test_shutting_down_twice_still_stops_the_threads() -> None:
    pool = ThreadPool(2, "t-twice")
    release = threading.Event()
    busy = [pool.submit(release.wait, BOUND) for _ in range(2)]
    pool.shutdown(wait=False)
    pool.shutdown(wait=False, cancel_futures=True)  # must not swallow the first one's stops
    release.set()
    assert all(b.result(BOUND) for b in busy)
    deadline = time.monotonic() + BOUND
    while [t for t in threading.enumerate() if t.name.startswith("t-twice_")]:
        assert time.monotonic() < deadline, "workers kept running after two shutdowns"
        time.sleep(0.01)


def test_a_dropped_pool_stops_its_threads() -> None:
    pool = ThreadPool(3, "t-dropped")
    for _ in range(3):
        pool.submit(time.sleep, 0.01).result(BOUND)
    del pool
    gc.collect()
    deadline = time.monotonic() + BOUND
    while [t for t in threading.enumerate() if t.name.startswith("t-dropped_")]:
        assert time.monotonic() < deadline, "the workers of a dropped pool kept running"
        time.sleep(0.01)


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        ThreadPool(0)


async def test_a_lane_call_cancelled_before_it_starts_does_not_run() -> None:
    from quartlike.sync import NOT_RUN
    from quartlike.sync import Lane

    pool = ThreadPool(2, "t-lane")
    lane = Lane(lambda: pool)
    loop = asyncio.get_running_loop()
    release = threading.Event()
    ran: list[str] = []
    try:
        first = asyncio.ensure_future(
            lane.try_run(
                loop, lambda: (release.wait(BOUND), threading.current_thread().name)[1], pool
            )
        )
        await asyncio.sleep(0.02)
        queued = asyncio.ensure_future(lane.try_run(loop, lambda: ran.append("queued"), pool))
        await asyncio.sleep(0.02)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        thread = await first
        again = await lane.try_run(loop, lambda: threading.current_thread().name, pool)
        assert again == thread  # one lane, one thread
        assert ran == []

        def fail() -> None:
            raise LookupError("from the lane")

        with pytest.raises(LookupError, match="from the lane"):
            await lane.try_run(loop, fail, pool)
    finally:
        release.set()
        lane.close()
        pool.shutdown()
    assert await lane.try_run(loop, lambda: "closed", pool) is NOT_RUN
