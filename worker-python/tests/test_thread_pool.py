"""DaemonThreadPool: the threads that run streaming tools, reused from call to call."""

from __future__ import annotations

import contextvars
import threading

import support
from snakepit_bridge.thread_pool import DaemonThreadPool

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def run(pool: DaemonThreadPool) -> tuple[threading.Thread, str]:
    """Runs a task that sets the context variable, and returns its thread and what it saw first."""
    done = threading.Event()
    seen: dict[str, tuple[threading.Thread, str]] = {}

    def task() -> None:
        seen["task"] = (threading.current_thread(), marker.get())
        marker.set("set by a task")
        done.set()

    pool.submit(task)
    assert done.wait(support.TIMEOUT)
    return seen["task"]


def test_an_idle_thread_runs_the_next_task_in_a_fresh_context() -> None:
    pool = DaemonThreadPool("spec")
    first, _ = run(pool)
    support.wait_until(lambda: pool._idle == 1)

    second, seen = run(pool)

    assert second is first, "no new thread while one is idle"
    assert second.daemon
    assert seen == "unset", "a context variable a task set does not reach the next task"


def test_a_busy_thread_is_not_waited_for() -> None:
    pool = DaemonThreadPool("spec")
    release = threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        release.wait(support.TIMEOUT)

    pool.submit(blocked)
    assert started.wait(support.TIMEOUT)
    try:
        other, _ = run(pool)
        assert other.name == "spec-2"
    finally:
        release.set()


def test_a_task_that_raises_leaves_its_thread_serving() -> None:
    pool = DaemonThreadPool("spec")

    def fail() -> None:
        raise RuntimeError("boom")

    pool.submit(fail)
    support.wait_until(lambda: pool._idle == 1)
    thread, _ = run(pool)
    assert thread.name == "spec-1"


def test_a_thread_idle_too_long_ends() -> None:
    pool = DaemonThreadPool("spec", idle_seconds=0.05)
    thread, _ = run(pool)

    thread.join(support.TIMEOUT)

    assert not thread.is_alive()
    assert pool._idle == 0
    assert run(pool)[0] is not thread
