"""Awaiting durability from asyncio without a thread per waiter.

A journal whose sync mode is not ``"always"`` returns from an append before it is on
disk. :class:`DurableWaiter` lets coroutines await a seq: each registers a future, and
one flusher (a single executor task, started only while someone waits) repeatedly takes
the journal's last seq, runs one ``flush`` (fdatasync), and resolves every waiter at or
below that seq — one sync serves every coroutine waiting, whatever their number. A failed
flush fails every waiter (the journal is poisoned: nothing more is accepted).

Termination: a seq past the journal's last assigned seq is refused at once (it may never
come), so every waiter is resolved by the first flush that starts after it registered; a
cancelled waiter is removed at once, and the flusher returns as soon as no waiter is
left. No executor thread outlives its waiters (``asyncio.run`` would wait for it).
"""

from __future__ import annotations

import asyncio
import threading

from pinnacle import _core
from pinnacle.errors import LedgerError


class DurableWaiter:
    def __init__(self, journal: _core.Journal) -> None:
        self._journal = journal
        self._lock = threading.Lock()
        self._waiters: list[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._flushing = False
        self._durable = 0
        self.flushes = 0
        """Flushes run for waiters (a figure for tests and benchmarks)."""

    async def wait(self, seq: int) -> None:
        """Returns once entry ``seq`` is durable; a seq not yet assigned is refused
        (``LedgerError`` ``invalid_value``)."""
        last = self._journal.next_seq - 1
        if seq > last:
            err = LedgerError(f"seq {seq} has not been written: the last seq assigned is {last}")
            err.code = "invalid_value"
            raise err
        if self._journal.sync == "always" or seq <= self._durable:
            return  # "always": an append returned only once durable
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        waiter = (seq, fut, loop)
        with self._lock:
            if seq <= self._durable:
                return
            self._waiters.append(waiter)
            start, self._flushing = not self._flushing, True
        if start:
            loop.run_in_executor(None, self._flush_loop)
        try:
            await fut
        finally:
            if not fut.done() or fut.cancelled():  # abandoned: the flusher owes it nothing
                with self._lock:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)

    def _flush_loop(self) -> None:
        while True:
            with self._lock:
                if not self._waiters:
                    self._flushing = False
                    return
            target = self._journal.next_seq - 1  # appended before the flush starts
            error: BaseException | None = None
            try:
                self._journal.flush()
                self.flushes += 1
            except BaseException as e:  # handed to every waiter
                error = e
            with self._lock:
                if error is None:
                    self._durable = max(self._durable, target)
                    done = [w for w in self._waiters if w[0] <= target]
                else:
                    done = list(self._waiters)
                self._waiters = [w for w in self._waiters if w not in done]
            for _seq, fut, loop in done:
                loop.call_soon_threadsafe(_settle, fut, error)


def _settle(fut: asyncio.Future[None], error: BaseException | None) -> None:
    if fut.done():  # cancelled meanwhile
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)


__all__ = ["DurableWaiter"]
