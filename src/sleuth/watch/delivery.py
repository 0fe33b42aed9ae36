"""Sending alerts off the watch's thread: retried with backoff, logged, never raised.

One daemon thread per receiver (``Senders``): a receiver that hangs or
refuses must not delay the next cycle, nor another receiver's alerts, so the
watch loop only queues. Each delivery is tried at
most ``Retry.attempts`` times within ``Retry.total_s``; what fails is logged on
``sleuth.watch.alerts`` with the receiver's scheme and host only (a webhook's
path and query are its credential).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from sleuth import _timing as timing
from sleuth._version import __version__ as SLEUTH_VERSION

logger = logging.getLogger("sleuth.watch.alerts")

_STOP = object()
# Said of deliveries not sent as the watch stops, when the store keeps them.
_KEPT = "; kept in the store, the next watch sends them"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How hard one delivery is tried: attempts, backoff, and a total bound."""

    attempts: int = 5
    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    total_s: float = 120.0

    def backoff_s(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based): doubling, capped."""
        return float(min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One body for one receiver."""

    kind: str
    url: str  # a secret: never logged, never in a repr
    body: bytes
    timeout_s: float
    what: str  # e.g. "alert for test_api.py::test_items", for the log
    key: str = ""  # its row in the store's outbox (watch/outbox.py), if kept

    def __repr__(self) -> str:
        return f"Delivery(kind={self.kind!r}, to={shown_url(self.url)!r})"


def shown_url(url: str) -> str:
    """Only the scheme and host of ``url``: what a log may say of a receiver."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class DeliveryFailed(Exception):
    """An attempt failed; ``retry`` says whether another may succeed."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


class Sender:
    """The background thread that sends queued deliveries, in order.

    ``finished(key)`` is called for a kept delivery once it is sent or given
    up on; one abandoned as the watch stops stays kept, for the next watch.
    """

    def __init__(
        self,
        *,
        retry: Retry,
        scrub: Callable[[str], str],
        finished: Callable[[str], None] | None = None,
    ) -> None:
        self.retry = retry
        self._scrub = scrub
        self._finished = finished
        self._queue: queue.Queue[object] = queue.Queue()
        self._closing = threading.Event()  # close() was called
        self._abandon = threading.Event()  # close()'s time ran out: stop now
        self.sent = 0
        self.failed = 0
        # A thread, not the watch loop: see the module's docstring.
        self._thread = threading.Thread(
            target=self._run, name="sleuth-alerts", daemon=True
        )
        self._thread.start()

    def put(self, delivery: Delivery) -> None:
        if self._closing.is_set():
            logger.warning(
                "alerts: %s to %s not sent: the watch is stopping%s",
                delivery.what,
                shown_url(delivery.url),
                _KEPT if delivery.key else "",
            )
            return
        self._queue.put(delivery)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Send what is queued, for at most ``timeout_s``; True when all went out."""
        self.begin_close()
        return self.finish_close(timing.monotonic() + timeout_s, timeout_s)

    def begin_close(self) -> None:
        """Take no more deliveries; send what is queued."""
        self._closing.set()
        self._queue.put(_STOP)

    def finish_close(self, deadline: float, timeout_s: float) -> bool:
        """Wait for the queue to be sent until ``deadline`` (monotonic), then
        abandon the rest; True when all went out."""
        self._thread.join(max(deadline - timing.monotonic(), 0.0))
        if self._thread.is_alive():
            self._abandon.set()
            left = self._queue.qsize()
            logger.warning(
                "alerts: stopped after %s with deliveries still pending "
                "(about %d): they are not sent%s",
                timing.format_duration(timeout_s),
                max(left - 1, 0) + 1,
                _KEPT if self._finished is not None else "",
            )
            return False
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._abandon.is_set():
                return
            if not isinstance(item, Delivery):
                continue
            try:
                finished = self._deliver(item)
            except Exception as exc:  # never let the thread die: later alerts still go
                self.failed += 1
                finished = True
                logger.warning(
                    "alerts: %s to %s failed: %s (a bug in sleuth)",
                    item.what,
                    shown_url(item.url),
                    self._scrub(type(exc).__name__),
                )
            if finished and item.key and self._finished is not None:
                self._finished(item.key)

    def _deliver(self, item: Delivery) -> bool:
        """Send ``item``, retrying; False when abandoned as the watch stops."""
        deadline = timing.monotonic() + self.retry.total_s
        to = shown_url(item.url)
        for attempt in range(1, self.retry.attempts + 1):
            try:
                post(item)
            except DeliveryFailed as exc:
                reason = self._scrub(str(exc))
                wait_s = self.retry.backoff_s(attempt)
                last = (
                    not exc.retry
                    or attempt == self.retry.attempts
                    or timing.monotonic() + wait_s > deadline
                    or self._abandon.is_set()
                )
                if last:
                    self.failed += 1
                    logger.warning(
                        "alerts: %s to %s %s %s: %s; not sent",
                        item.what,
                        to,
                        item.kind,
                        f"failed after {attempt} attempt{'s' if attempt > 1 else ''}",
                        reason,
                    )
                    # Given up because the watch stops: kept for the next one.
                    return not self._abandon.is_set()
                logger.warning(
                    "alerts: %s to %s %s failed (attempt %d of %d): %s; retrying in %s",
                    item.what,
                    to,
                    item.kind,
                    attempt,
                    self.retry.attempts,
                    reason,
                    timing.format_duration(wait_s),
                )
                if self._abandon.wait(wait_s):
                    return False
            else:
                self.sent += 1
                logger.info("alerts: %s sent to %s %s", item.what, to, item.kind)
                return True
        return True  # attempts is at least 1: not reached


class Senders:
    """A ``Sender`` for each receiver, made when it is first sent to.

    Each receiver in order, and one at a time, but none waits for another:
    Slack answering slowly does not hold back the page to Alertmanager.
    """

    def __init__(
        self,
        *,
        retry: Retry,
        scrub: Callable[[str], str],
        finished: Callable[[str], None] | None = None,
    ) -> None:
        self.retry = retry
        self._scrub = scrub
        self._finished = finished
        self._senders: dict[str, Sender] = {}  # by the receiver's URL
        self._closed = False

    def put(self, delivery: Delivery) -> None:
        sender = self._senders.get(delivery.url)
        if sender is None:
            if self._closed:
                logger.warning(
                    "alerts: %s to %s not sent: the watch is stopping%s",
                    delivery.what,
                    shown_url(delivery.url),
                    _KEPT if delivery.key else "",
                )
                return
            sender = Sender(
                retry=self.retry, scrub=self._scrub, finished=self._finished
            )
            self._senders[delivery.url] = sender
        sender.put(delivery)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Send what is queued to every receiver, all within ``timeout_s``;
        True when all went out."""
        self._closed = True
        deadline = timing.monotonic() + timeout_s
        senders = list(self._senders.values())
        for sender in senders:
            sender.begin_close()
        # Every one is finished (and abandoned when late), not only up to the
        # first that is late.
        done = [sender.finish_close(deadline, timeout_s) for sender in senders]
        return all(done)

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self._senders.values())

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self._senders.values())


def post(item: Delivery) -> None:
    """POST the body once.

    Raises:
        DeliveryFailed: with a reason that never holds the URL.
    """
    # http(s) only: the URL was checked when the config was read.
    request = urllib.request.Request(  # noqa: S310
        item.url,
        data=item.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"sleuth/{SLEUTH_VERSION} (alerts)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=item.timeout_s) as answer:  # noqa: S310
            answer.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        # 5xx and 429 may pass on a later try; another 4xx will not.
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}", retry=retry) from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(_reason(exc.reason), retry=True) from None
    except (OSError, ValueError) as exc:  # timeouts, resets, a bad answer
        raise DeliveryFailed(_reason(exc), retry=True) from None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "no answer in time"
    return type(reason).__name__ if isinstance(reason, BaseException) else str(reason)
