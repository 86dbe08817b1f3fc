"""The thread pool behind sync code: bounded, threads reused, calls cancelled
before they start are not run, shutdown and garbage collection stop the threads."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import typing as t

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


def _names(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_reservation_runs_its_calls_in_one_thread_in_order() -> None:
    pool = ThreadPool(4, "t-res")
    try:
        reservation = pool.reserve()
        futures = [pool.submit(lambda: None) for _ in range(2)]  # other threads exist
        for f in futures:
            f.result(BOUND)
        seen: list[tuple[int, str]] = []
        done = threading.Event()
        for i in range(20):
            assert reservation.put(_Append(seen, i, done if i == 19 else None))
        assert done.wait(BOUND)
        assert [i for i, _ in seen] == list(range(20))
        assert len({name for _, name in seen}) == 1
        assert reservation.thread is not None and reservation.thread.name == seen[0][1]
        reservation.release()
        assert reservation.thread is None
        assert not reservation.put(_Append(seen, 99, None))  # released: refused
    finally:
        pool.shutdown()


class _Append:
    """A pool item recording (index, thread name), as the lanes' calls do."""

    def __init__(self, seen: list[tuple[int, str]], i: int, done: threading.Event | None) -> None:
        self.seen, self.i, self.done = seen, i, done

    def run(self, worker: t.Any, state: t.Any) -> t.Any:
        from quartlike.pool import finish

        self.seen.append((self.i, threading.current_thread().name))
        after = finish(worker, state)
        if self.done is not None:
            self.done.set()
        return after

    def cancel(self) -> None:
        self.seen.append((-self.i, "cancelled"))


def test_a_released_worker_is_reused_without_starting_another_thread() -> None:
    pool = ThreadPool(1, "t-reuse")
    try:
        reservation = pool.reserve()
        seen: list[tuple[int, str]] = []
        done = threading.Event()
        assert reservation.put(_Append(seen, 0, done))
        assert done.wait(BOUND)
        # The only worker is reserved: a plain call waits for the release.
        queued = pool.submit(lambda: threading.current_thread().name)
        time.sleep(0.05)
        assert not queued.done()
        reservation.release()
        assert queued.result(BOUND) == seen[0][1]
        assert pool.submit(lambda: threading.current_thread().name).result(BOUND) == seen[0][1]
        assert _names("t-reuse_") == [seen[0][1]]
    finally:
        pool.shutdown()


def test_a_reservation_made_while_all_workers_are_busy_waits_for_one() -> None:
    pool = ThreadPool(1, "t-claim")
    release = threading.Event()
    try:
        busy = pool.submit(release.wait, BOUND)
        reservation = pool.reserve()
        seen: list[tuple[int, str]] = []
        done = threading.Event()
        for i in range(3):
            assert reservation.put(_Append(seen, i, done if i == 2 else None))
        time.sleep(0.05)
        assert seen == [] and reservation.thread is None
        release.set()
        assert busy.result(BOUND) is True
        assert done.wait(BOUND)
        assert [i for i, _ in seen] == [0, 1, 2]
        assert reservation.thread is not None
        reservation.release()
        assert pool.submit(lambda: "free").result(BOUND) == "free"
    finally:
        release.set()
        pool.shutdown()


def test_calls_put_before_a_release_still_run_when_the_worker_comes_free() -> None:
    pool = ThreadPool(1, "t-early")
    release = threading.Event()
    try:
        busy = pool.submit(release.wait, BOUND)
        reservation = pool.reserve()
        seen: list[tuple[int, str]] = []
        done = threading.Event()
        assert reservation.put(_Append(seen, 1, done))
        reservation.release()  # before any worker was free
        release.set()
        busy.result(BOUND)
        assert done.wait(BOUND)
        assert [i for i, _ in seen] == [1]
        assert pool.submit(lambda: "free").result(BOUND) == "free"  # not kept
    finally:
        release.set()
        pool.shutdown()


def test_shutdown_cancels_the_waiting_calls_of_a_reservation() -> None:
    pool = ThreadPool(1, "t-rcancel")
    release = threading.Event()
    busy = pool.submit(release.wait, BOUND)
    reservation = pool.reserve()
    seen: list[tuple[int, str]] = []
    assert reservation.put(_Append(seen, 1, None))
    pool.shutdown(wait=False, cancel_futures=True)
    assert seen == [(-1, "cancelled")]
    assert not reservation.put(_Append(seen, 2, None))
    release.set()
    busy.result(BOUND)
    pool.shutdown(wait=True)
    assert _names("t-rcancel_") == []


def test_a_reserved_worker_outlives_shutdown_until_released() -> None:
    pool = ThreadPool(2, "t-rshut")
    reservation = pool.reserve()
    seen: list[tuple[int, str]] = []
    first = threading.Event()
    assert reservation.put(_Append(seen, 0, first))
    assert first.wait(BOUND)
    pool.shutdown(wait=False)
    later = threading.Event()
    assert reservation.put(_Append(seen, 1, later))  # the lane keeps its thread
    assert later.wait(BOUND)
    assert len(_names("t-rshut_")) == 1
    reservation.release()
    deadline = time.monotonic() + BOUND
    while _names("t-rshut_"):
        assert time.monotonic() < deadline, "a released worker kept running after shutdown"
        time.sleep(0.01)


def test_a_reserved_thread_waiting_runs_the_calls_that_reach_it() -> None:
    pool = ThreadPool(2, "t-rwait")
    try:
        reservation = pool.reserve()
        seen: list[tuple[int, str]] = []
        outer_done = threading.Event()
        inner_done = threading.Event()
        result: list[str] = []

        class Outer:
            def run(self, worker: t.Any, state: t.Any) -> t.Any:
                from quartlike.pool import finish

                # Something else (here: a plain thread) puts a call on this
                # reservation, then wakes the waiting thread.
                def other() -> None:
                    reservation.put(_Append(seen, 7, inner_done))
                    inner_done.wait(BOUND)
                    reservation.wake()

                helper = threading.Thread(target=other)
                helper.start()
                reservation.wait(inner_done.is_set)
                helper.join(BOUND)
                result.append(threading.current_thread().name)
                after = finish(worker, state)
                outer_done.set()
                return after

            def cancel(self) -> None:
                pass

        assert reservation.put(Outer())
        assert outer_done.wait(BOUND)
        assert seen == [(7, result[0])]  # the inner call ran in the waiting thread
        reservation.release()
    finally:
        pool.shutdown()
