"""On Linux, a pool's child worker runs under a small supervisor process, so that nothing outlives it.

    Node ── supervisor ── worker ── the processes its tools start (any session)

A worker stops when its parent goes away by watching its stdin, which only the
parent holds. A worker that cannot run cannot notice: one stopped (SIGSTOP),
or inside a C call that holds the GIL. Only the kernel can end it then, with a
parent-death signal (PR_SET_PDEATHSIG). But a worker killed so abruptly, or one
that crashed, cannot end the processes its tools started either, and those in
a session of their own escape any process-group kill.

So the process the pool starts forks right away: the child becomes the worker,
the parent stays as its supervisor. The supervisor runs no tool code, so it can
always act. It is a subreaper (PR_SET_CHILD_SUBREAPER): every process below it
whose parent dies is handed to it, not to init, so the worker's descendants
stay its own whatever sessions they start. The worker gets SIGKILL from the
kernel if the supervisor dies; the supervisor gets SIGTERM if Node dies (and
sees stdin close), asks the worker to stop, kills it after a grace period if it
cannot, and once the worker is gone, however it went, kills every process left
below it and exits as the worker did.

Elsewhere, or where prctl fails, the worker runs alone and watches stdin, as it
always did.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from snakepit_bridge import parent_pipe, unix_socket

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

# How long a worker gets to stop by itself (closing running generators) when the supervisor asks.
STOP_GRACE_SECONDS = 2.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_HANDLED = {*_STOP_SIGNALS, signal.SIGCHLD}


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def start(parent_pid: int | None, *, socket_path: str | None = None) -> bool:
    """Forks the supervisor on Linux: returns True in the worker (the supervisor never returns), False if not.

    parent_pid is the pool's process, which must still be the parent once the death signal is
    set: a parent that died before would never send it. socket_path is the worker's Unix socket,
    which the supervisor removes once the worker is gone (unix_socket.py).
    """
    if sys.platform != "linux" or not _prctl(_PR_SET_CHILD_SUBREAPER, 1):
        return False
    expected_parent = parent_pid if parent_pid is not None else os.getppid()
    if not _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) or os.getppid() != expected_parent:
        # The parent is already gone (or no death signal can be had): there is nobody to serve.
        os._exit(0)
    supervisor = os.getpid()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
    worker = os.fork()
    if worker == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if not _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) or os.getppid() != supervisor:
            os._exit(0)
        return True

    def clean_up(pool_gone: bool) -> None:
        if socket_path is not None:
            unix_socket.remove_socket(socket_path, pool_gone=pool_gone)

    _supervise(worker, blocked, clean_up)


def _supervise(worker: int, blocked: Iterable[int], clean_up: Callable[[bool], None]) -> NoReturn:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    for signal_number in _HANDLED:
        signal.signal(signal_number, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    parent = parent_pipe.ParentPipe(0)
    watching_stdin = True
    kill_at: float | None = None
    while (status := _reap(worker)) is None:
        timeout = None if kill_at is None else max(0.0, kill_at - time.monotonic())
        readable, _, _ = select.select([wake_read, 0] if watching_stdin else [wake_read], [], [], timeout)
        stop = False
        if 0 in readable and not parent.read():
            # The parent stops us, or is gone, however it went: nothing writes to our stdin any more.
            watching_stdin = False
            stop = True
        if wake_read in readable:
            received = os.read(wake_read, 64)
            stop = stop or any(number in received for number in _STOP_SIGNALS)
        if stop and kill_at is None:
            _signal(worker, signal.SIGTERM)
            # A stopped worker would not see SIGTERM until continued.
            _signal(worker, signal.SIGCONT)
            kill_at = time.monotonic() + STOP_GRACE_SECONDS
        elif kill_at is not None and time.monotonic() >= kill_at:
            _signal(worker, signal.SIGKILL)
    _end_descendants()
    # A dying pool closes our stdin before the kernel signals its death: its end is there to read by now.
    parent.read_ready()
    clean_up(parent.pool_gone)
    _exit_as(status)


def _signal(pid: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal_number)


def _reap(worker: int) -> int | None:
    """Reaps every child that ended (orphans handed to us too); the worker's wait status once it ended."""
    status = None
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == worker:
            status = wait_status


def _children() -> list[int]:
    own = os.getpid()
    try:
        listed = Path(f"/proc/{own}/task/{own}/children").read_text()
        return [int(pid) for pid in listed.split()]
    except FileNotFoundError:
        # A kernel without CONFIG_PROC_CHILDREN: find them by their parent.
        children = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == own:
                    children.append(int(entry.name))
        return children


def _end_descendants(deadline_seconds: float = 5.0) -> None:
    """Kills every process below the supervisor: each killed child's children are handed to it, and go next."""
    deadline = time.monotonic() + deadline_seconds
    while (children := _children()) and time.monotonic() < deadline:
        for pid in children:
            _signal(pid, signal.SIGKILL)
        for pid in children:
            # Reaped, its children (if any) are ours and listed on the next round.
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] != 0:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.001)


def _exit_as(status: int) -> NoReturn:
    """Ends the supervisor as the worker ended, so that the pool sees the worker's own exit."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        with contextlib.suppress(OSError):
            # SIGKILL has no handler to reset.
            signal.signal(-code, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {-code})
        os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code)
