"""Bounded-concurrency page fetching for listings whose size is stated up front.

Only counted listings can fan out: once the first page states the total (Voximplant and Plivo
``offset`` paging, DIDWW ``page[number]``), every later page's address is known, so up to
``concurrency`` pages are fetched at once by threads sharing the adapter's ``httpx.Client``
(thread-safe). Results are always consumed in page order by the caller, so validation
(``CountedListing``), progress and the returned records are the same as a sequential walk.

Cursor and link paging (Apifonica ``next`` cursors, Webex ``Link: rel="next"``) cannot be
parallelised: each page's address is only known from the previous page, so those adapters stay
sequential.

Rate limits: all workers of one walk share a ``Gate``. It paces requests to the provider's
published rate (when there is one) and, after a 429 with a short Retry-After, holds every worker
until that time has passed, then the rate-limited page is asked again. The retries are bounded
per walk; a 429 without Retry-After, a longer Retry-After or one past the budget is raised like
today, so the sync reschedules itself (the worker never sleeps long).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator

from .errors import RateLimited

CONFIG_KEY = "fetch_concurrency"
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 8  # a provider account is one client; more would look like abuse
RATE_LIMIT_RETRIES = 4  # 429s one walk absorbs itself (all workers together)
MAX_PAUSE = 5.0  # longest Retry-After a walk waits out; longer ones go back to the scheduler


def fetch_concurrency(config: dict | None) -> int:
    """Pages fetched at once: the config's ``fetch_concurrency`` within 1..MAX_CONCURRENCY
    (1 = one page at a time); DEFAULT_CONCURRENCY when unset or not a number."""
    try:
        value = int((config or {}).get(CONFIG_KEY) or DEFAULT_CONCURRENCY)
    except (TypeError, ValueError):
        return DEFAULT_CONCURRENCY
    return max(1, min(MAX_CONCURRENCY, value))


class Cancelled(Exception):
    """A worker stopped because the walk failed elsewhere (never leaves this module's callers)."""


class Gate:
    """Shared by the workers of one walk: request pacing, the rate-limit pause and the stop
    after a failure. Pages are numbered in walk order; a failure on page k stops only the pages
    after k, so an earlier page's own error (or records) still arrive, as in a sequential walk."""

    NEVER = float("inf")

    def __init__(self, max_rate: float | None = None, *, retries: int = RATE_LIMIT_RETRIES,
                 max_pause: float = MAX_PAUSE):
        self.interval = 1.0 / max_rate if max_rate else 0.0
        self.retries_left = retries
        self.max_pause = max_pause
        self.pauses = 0  # 429s waited out (tests, logs)
        self._cond = threading.Condition()
        self._resume = 0.0  # monotonic time before which nobody sends
        self._next_slot = 0.0
        self._stop_after = self.NEVER  # pages numbered above this are not fetched any more

    def stop_after(self, index: float) -> None:
        with self._cond:
            self._stop_after = min(self._stop_after, index)
            self._cond.notify_all()

    def wait(self, index: float = 0) -> None:
        """Block until page ``index`` may be sent (paused or paced); ``Cancelled`` once the walk
        failed on an earlier page."""
        with self._cond:
            while True:
                if index > self._stop_after:
                    raise Cancelled()
                now = time.monotonic()
                start = max(now, self._resume, self._next_slot)
                if start <= now:
                    if self.interval:
                        self._next_slot = now + self.interval
                    return
                self._cond.wait(start - now)  # woken early by a stop; a 429 is re-checked here

    def pause_for(self, exc: RateLimited) -> bool:
        """Close the gate for ``exc.retry_after`` seconds if the walk should wait it out itself."""
        if exc.retry_after is None or exc.retry_after > self.max_pause:
            return False
        with self._cond:
            if self.retries_left <= 0:
                return False
            self.retries_left -= 1
            self.pauses += 1
            self._resume = max(self._resume, time.monotonic() + exc.retry_after)
        return True

    def call(self, fetch: Callable[[Any], Any], arg: Any, index: float = 0) -> Any:
        while True:
            self.wait(index)
            try:
                return fetch(arg)
            except RateLimited as exc:
                if not self.pause_for(exc):
                    raise


def fetch_in_order(fetch: Callable[[Any], Any], args: Iterable[Any], concurrency: int,
                   gate: Gate) -> Iterator[Any]:
    """``fetch(arg)`` for every arg, yielded in ``args`` order, at most ``concurrency`` at once.

    A failure stops every later page before its request (in-flight ones finish within the HTTP
    timeout); the consumer gets the earlier pages, then the error. Close the iterator
    (``contextlib.closing``) when stopping early: that cancels the rest and joins the workers."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="page-fetch")
    pending: deque[Future] = deque()
    remaining = enumerate(args)

    def on_done(index: int, future: Future) -> None:
        if not future.cancelled() and not isinstance(future.exception(), (type(None), Cancelled)):
            gate.stop_after(index)

    def submit() -> None:
        for index, arg in remaining:
            future = pool.submit(gate.call, fetch, arg, index)
            future.add_done_callback(lambda f, i=index: on_done(i, f))
            pending.append(future)
            return

    try:
        # A window of twice the workers: nobody runs far ahead of the page being consumed.
        for _ in range(2 * concurrency):
            submit()
        while pending:
            result = pending.popleft().result()  # this page's own error, if it failed
            submit()
            yield result
    finally:
        gate.stop_after(-1)
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
