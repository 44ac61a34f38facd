"""A pool of worker processes: items handed to a function in other processes, each result
reported as soon as it exists, Ctrl-C stopping them all. The matrix runs its specs in it,
accuracy mode its chunks of samples."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from tinybench.errors import TinybenchError


def in_workers(function: Callable[[Any], Any], items: Sequence[Any], pending: Sequence[int],
               jobs: int, started: Callable[[int], None], finished: Callable[[int, Any], None],
               names: Sequence[str], preload: Sequence[str] = ()) -> None:
    """Call `function` on the items at `pending` in `jobs` worker processes, reporting each
    start and result with the item's place.

    The workers are started by a fork server that imports the modules in `preload` once
    (TensorFlow and Unicorn do not survive a fork of a process that has used them), so
    `function` and the items must be picklable. A TinybenchError raised by `function` is
    raised here; any other error is a bug, raised as a TinybenchError naming the item (from
    `names`) with the worker's traceback. On any error or Ctrl-C the workers are stopped.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    todo, events = context.Queue(), context.Queue()
    for index in [*pending, *[None] * jobs]:
        todo.put(index)
    workers = [context.Process(target=_work, args=(function, items, todo, events),
                               name=f"tinybench-worker-{n}") for n in range(1, jobs + 1)]
    for worker in workers:
        worker.start()
    left = set(pending)
    try:
        while left:
            try:
                index, kind, payload = events.get(timeout=1)
            except queue.Empty:
                _check_alive(workers, names, left)
                continue
            if kind == "started":
                started(index)
            elif kind == "raised":
                raise payload
            elif kind == "crashed":
                raise TinybenchError(f"{names[index]}: a worker failed: {payload}")
            else:
                left.discard(index)
                finished(index, payload)
    finally:
        _stop(workers, interrupt=bool(left))


def _work(function: Callable[[Any], Any], items: Sequence[Any], todo: multiprocessing.Queue,
          events: multiprocessing.Queue) -> None:
    """A worker: call `function` on the items whose places arrive on `todo` until None;
    report on `events`."""
    threading.Thread(target=_stop_when_orphaned, daemon=True).start()
    try:
        for index in iter(todo.get, None):
            events.put((index, "started", None))
            try:
                result = function(items[index])
            except TinybenchError as error:  # one line for the user, as in this process
                events.put((index, "raised", error))
                return
            except Exception:  # a bug: say where
                events.put((index, "crashed", traceback.format_exc(limit=-3)))
                return
            events.put((index, "finished", result))
    except KeyboardInterrupt:  # the main process stops the others and says what was left
        events.cancel_join_thread()  # so exit at once, even with reports nobody will read


def _stop_when_orphaned() -> None:
    """Stop this worker once the main process has ended: one killed outright leaves no worker
    running on."""
    main = multiprocessing.parent_process()
    if main is None:
        return
    main.join()  # returns when the main process ends (the end of a pipe it holds closes)
    os.kill(os.getpid(), signal.SIGINT)  # stops its tools, as Ctrl-C does
    time.sleep(5)
    os._exit(1)  # SIGINT is ignored here, or stopping hung


def _check_alive(workers: list[BaseProcess], names: Sequence[str], left: set[int]) -> None:
    """Raise if a worker died (killed, a crash in native code) with items still to do."""
    dead = [w for w in workers if w.exitcode not in (None, 0)]
    if not dead and not any(w.is_alive() for w in workers):
        dead = workers  # every worker ended, yet items are unreported
    if dead:
        unfinished = ", ".join(names[i] for i in sorted(left))
        raise TinybenchError(f"{dead[0].name} died (exit code {dead[0].exitcode}) with "
                             f"{unfinished} unfinished; run again with -j 1 to see why")


def _stop(workers: list[BaseProcess], interrupt: bool) -> None:
    """Wait for the workers to end; when items were left, interrupt them first (as Ctrl-C
    would: each stops its tools), and kill one that does not end within a second."""
    for worker in workers:
        if interrupt and worker.is_alive():
            os.kill(worker.pid, signal.SIGINT)
    deadline = time.monotonic() + 1
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()) if interrupt else None)
        if worker.is_alive():
            worker.kill()
            worker.join()
