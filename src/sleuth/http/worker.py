"""The HTTP worker: aiohttp in a process of its own, started as ``sleuth run`` starts.

A run is CPU-bound on one interpreter lock: pytest's own work on every item,
sleuth's bookkeeping and the HTTP client's work all take turns on one core.
``sleuth run`` therefore starts, before it imports pytest, a small process that
imports aiohttp while pytest starts, and makes the run's HTTP requests on the
machine's other core. At K=500 that takes 16 to 18% off a whole run
(bench/PROFILE.md).

The run keeps everything that decides an outcome: deadlines, retries, the
read-only guard, evidence and redaction. The worker only makes one request
when asked (``http_wire.fetch``, the same code the run uses without a worker)
and sends back what came: an ``Answer``, or the error already translated, and
the per-phase timings. Both clocks are the machine's monotonic clock.

A worker that ends before it is ready leaves the requests to the run (with a
warning in the log). One that ends later is sleuth's own fault, never the
target's: the GET, HEAD and OPTIONS requests it had in flight are sent again
from the run's own process (within their deadlines, which the run keeps), and
so is every request after it; a write it had in flight is not sent twice but
fails with category ``sleuth``, saying whether it may have reached the target.
The worker is the run's: its handle goes from ``sleuth run`` to pytest as a
plugin object, and the run's session owns it from there (``WorkerHandle``).
It is off where ``os.posix_spawn`` is missing, in a frozen app, on a single
core, with ``SLEUTH_HTTP_WORKER=0``, for plain ``pytest`` runs (pytest has
started by the time sleuth could start it), and for a suite whose config names
no ``base_url`` (``discovery.may_use_http``, asked by the ``sleuth`` command);
then the run makes its requests itself, as before. The worker never writes to
the terminal (its standard streams are /dev/null) and ends when the run's end
of the socket closes, however the run ended.

The two talk in named events over a socketpair, each an event name and its
fields (``("response", {"rid": 3, "answer": ..., ...})``), handed to the
receiving side's ``on_<name>`` method. The run sends ``fetch`` and ``cancel``;
the worker sends ``ready``, ``body`` (headers came, the body is coming),
``response`` and, as it fails, ``gone``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import sys
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import asyncio

    from sleuth.http.wire import (
        Answer,
        BodyProgress,
        Caps,
        LocalTransport,
        Timings,
    )

ENV_SWITCH = "SLEUTH_HTTP_WORKER"
# The worker's end of the socket, as the worker process sees it.
_WORKER_FD = 3
_WORKER_MAIN = (
    "import socket\n"
    "from sleuth.http.worker import worker_main\n"
    f"worker_main(socket.socket(fileno={_WORKER_FD}))\n"
)
_OFF = frozenset({"0", "false", "no", "off"})
_HEADER_BYTES = 4
# Requests sent again from the run's own process when the worker dies with
# them in flight: those that change nothing (the read-only rule's methods).
RESENDABLE = frozenset({"GET", "HEAD", "OPTIONS"})
# How long the run waits for the worker to exit once told to (it is idle then).
_REAP_TIMEOUT_S = 2.0
_REAP_POLL_S = 0.002
_DEATH_WAIT_POLLS = 50  # at most 0.1 s, once, for a worker that died mid-run


class WorkerHandle:
    """The run's end of the socket, and the worker's pid: one run's worker.

    ``start`` makes one; ``sleuth run`` hands it to pytest as a plugin object,
    and the run's session takes it from there (``offered``): the session owns
    it, gives it to the run's HTTP client (``claim``), stops it if no probe
    used it (``release_unused``), and reports how it died (``death``).
    """

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock = sock
        self.pid = pid
        self.claimed = False
        self.released = False  # stopped unused: not to be claimed any more
        self.reaped = False
        self.death: WorkerDeath | None = None  # if it ended mid-run
        self.killed_by: int | None = None  # the signal, once reaped

    @property
    def available(self) -> bool:
        """Can the run still use it (not claimed, not released)?"""
        return not self.claimed and not self.released

    def claim(self, caps: Caps) -> WorkerClient | None:
        """The worker's client, for the one engine of the run; None if taken."""
        if not self.available:
            return None
        self.claimed = True
        return WorkerClient(self, caps)

    def release_unused(self) -> None:
        """The run's probes are done: a worker none of them used is stopped now.

        Killed rather than left to the exit, so that its end (~3 ms, it may
        still be loading aiohttp) overlaps the run's own summary instead of
        adding to it. A request after this (none is expected) is made by the
        run itself.
        """
        if self.available:
            self.released = True  # nobody may claim it now
            self.kill()

    def exited(self) -> bool:
        """Has the worker ended (reaped now if so)?"""
        if not self.reaped:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # someone else reaped it
                pid, status = self.pid, None
            self.reaped = pid == self.pid
            if self.reaped and status is not None and os.WIFSIGNALED(status):
                self.killed_by = os.WTERMSIG(status)
        return self.reaped

    def how_it_ended(self, seen: str) -> str:
        """``seen`` (what the socket said), with the signal that killed it if known."""
        import signal

        if self.exited() and self.killed_by is not None:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(self.killed_by).name}; {seen}"
        return seen

    def kill(self) -> None:
        """Close the run's end and kill the worker, without waiting for it."""
        import signal

        self.sock.close()
        if not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def signal_kill(self) -> None:
        """Kill the worker, leaving the socket to whoever reads it."""
        import signal

        if not self.exited():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def stop(self, *, grace_s: float) -> None:
        """End the worker: it leaves when its socket closes, or is killed."""
        import time

        self.sock.close()
        deadline = time.monotonic() + grace_s
        while not self.exited() and time.monotonic() < deadline:
            time.sleep(_REAP_POLL_S)
        if not self.reaped:
            self.kill()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.reaped = True


def start(environ: Mapping[str, str] = os.environ) -> WorkerHandle | None:
    """Start the worker, unless switched off or impossible; its handle if started."""
    if environ.get(ENV_SWITCH, "1").lower() in _OFF:
        return None
    if not hasattr(os, "posix_spawn") or getattr(sys, "frozen", False):
        return None  # a frozen app's executable is the app, not a Python
    if _cores() < 2:
        return None  # on one core it would only take turns with the run
    ours, theirs = socket.socketpair()
    try:
        # A fresh interpreter, not a fork: a forked copy would share the run's
        # memory, and every page the run then writes would be copied first.
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-c", _WORKER_MAIN],
            dict(environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, theirs.fileno(), _WORKER_FD),
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
        )
    except OSError:
        ours.close()
        return None  # requests are made in the run, as without a worker
    finally:
        theirs.close()
    handle = WorkerHandle(ours, pid)
    import atexit

    atexit.register(_stop, handle)
    return handle


def offered(plugins: Iterable[object]) -> WorkerHandle | None:
    """The worker handed to this pytest run among its ``plugins``, if any.

    ``sleuth run`` starts the worker before pytest and passes its handle to
    ``pytest.main(plugins=[...])``; tests hand one to an in-process run the
    same way (``pytester.plugins``).
    """
    return next((p for p in plugins if isinstance(p, WorkerHandle)), None)


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _stop(handle: WorkerHandle) -> None:
    """At exit: a worker still there is stopped and reaped, leaving no process.

    Usually it is gone by now (closed with the run's engine, or killed unused
    when the session finished); this covers a run that ended before either.
    """
    handle.stop(grace_s=0.0)


# -- the worker process ------------------------------------------------------


def worker_main(sock: socket.socket) -> NoReturn:
    """Serve requests until the run's end closes; never return into the caller."""
    try:
        import signal

        # Ctrl-C goes to the whole foreground group: the run handles it, and
        # closing its end of the socket is what ends the worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        import asyncio

        asyncio.run(_serve(sock))
    except BaseException as exc:  # it may not reach a terminal: tell the run
        with contextlib.suppress(BaseException):
            sock.setblocking(True)
            sock.sendall(_frame(_event("gone", why=f"{type(exc).__name__}: {exc}")))
    finally:
        os._exit(0)


async def _serve(sock: socket.socket) -> None:
    import asyncio

    # Loaded now, while the run is still starting pytest: that is the point.
    import aiohttp  # noqa: F401

    reader, writer = await asyncio.open_connection(sock=sock)
    server = _Server(_Outbox(writer))
    server.outbox.send(_event("ready"))
    while (event := await _read_frame(reader)) is not None:
        server.dispatch(*event)
    # The run is over (or gone): leave at once. The kernel closes the
    # connections as for any process that exits; an orderly close of hundreds
    # of them would only make the run wait for this process.
    os._exit(0)


class _Server:
    """The worker's side: each event from the run goes to its ``on_`` method."""

    def __init__(self, outbox: _Outbox) -> None:
        from sleuth.suite.tlsoptions import Contexts

        self.outbox = outbox
        # ssl contexts are built here, from the run's tls options.
        self._contexts = Contexts()
        self._session: Any = None
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def dispatch(self, name: str, fields: dict[str, Any]) -> None:
        getattr(self, f"on_{name}")(**fields)

    def on_fetch(
        self,
        *,
        rid: int,
        method: str,
        url: str,
        caps: tuple[int, int],
        kwargs: dict[str, Any],
    ) -> None:
        import asyncio

        self._tasks[rid] = asyncio.create_task(
            self._fetch(rid, method, url, caps, kwargs)
        )

    def on_cancel(self, *, rid: int) -> None:
        task = self._tasks.get(rid)
        if task is not None:
            task.cancel()

    async def _fetch(
        self, rid: int, method: str, url: str, caps: tuple[int, int], kw: Any
    ) -> None:
        import asyncio

        from sleuth.http.wire import (
            Timings,
            fetch,
            open_session,
            translate_error,
        )

        send = self.outbox.send
        trace = Timings()
        trace.on_body = lambda body: send(_event("body", rid=rid, progress=body))
        try:
            if self._session is None:
                self._session = open_session(caps)
            answer = await fetch(
                self._session, trace, method, url, contexts=self._contexts, **kw
            )
            send(
                _event(
                    "response", rid=rid, answer=answer, error=None, marks=trace.marks
                )
            )
        except asyncio.CancelledError:
            pass  # the run gave up on it (its deadline) or is closing
        except Exception as exc:
            error = translate_error(exc, f"{method} {url}")
            send(
                _event("response", rid=rid, answer=None, error=error, marks=trace.marks)
            )
        finally:
            self._tasks.pop(rid, None)


# -- the run's side ----------------------------------------------------------


class WorkerClient:
    """Hands requests to the worker and waits for their answers (on the run's loop)."""

    def __init__(self, handle: WorkerHandle, caps: Caps) -> None:
        self._handle = handle
        self._caps = caps  # the worker's session is opened with them
        self._pending: dict[int, _InFlight] = {}
        self._next_id = 0
        self._outbox: _Outbox | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._ready: asyncio.Future[bool] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._failure: str | None = None
        self._closed = False  # by the run, at its end
        self._was_ready = False  # it came up: its end is a death mid-run
        # Requests made in the run when the worker never became ready, or died.
        self._local: LocalTransport | None = None
        # Each request's trace, while something holds it (weakly: no clean-up).
        self._traces: weakref.WeakValueDictionary[int, Timings] = (
            weakref.WeakValueDictionary()
        )

    async def fetch(
        self, trace: Timings, method: str, url: str, **kwargs: Any
    ) -> Answer:
        """What ``http_wire.fetch`` would answer here, made by the worker."""
        import asyncio

        from sleuth.errors import SleuthError

        __tracebackhide__ = True
        outbox = await self._ready_outbox()
        if outbox is None:
            return await self._fall_back().fetch(trace, method, url, **kwargs)
        rid = self._next_id
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._traces[rid] = trace  # where the worker's word on its body goes
        try:
            frame = outbox.send(
                _event(
                    "fetch",
                    rid=rid,
                    method=method,
                    url=url,
                    caps=self._caps,
                    kwargs=kwargs,
                )
            )
        except Exception as exc:  # pickle's: an argument that cannot be copied
            raise SleuthError(
                f"{method} {url}: its arguments cannot be handed to sleuth's HTTP "
                f"worker ({type(exc).__name__}: {exc}); pass plain values (str, "
                f"bytes, numbers, lists, dicts)"
            ) from None
        self._pending[rid] = _InFlight(future, method, url, frame, outbox)
        try:
            answer, error, marks = await future
        except asyncio.CancelledError:
            if self._pending.pop(rid, None) is not None and self._failure is None:
                outbox.send(_event("cancel", rid=rid))
            raise
        if answer is _RESEND:  # the worker died with it in flight
            return await self._fall_back().fetch(trace, method, url, **kwargs)
        trace.marks.update(marks)
        if error is not None:
            raise error
        return answer  # type: ignore[no-any-return]

    async def _ready_outbox(self) -> _Outbox | None:
        """Where to send requests once the worker is up; None if it never came up."""
        import asyncio

        if self._local is not None or (
            self._ready is not None and self._ready.done() and not self._ready.result()
        ):
            return None
        if self._failure is not None and not self._closed:
            return None  # it died: the run makes the requests now
        outbox = await self._connected()
        assert self._ready is not None  # noqa: S101 (set by _connect)
        if not await asyncio.shield(self._ready) or self._failure is not None:
            return None
        return outbox

    def _fall_back(self) -> LocalTransport:
        """The run's own transport, for a worker that never started or died."""
        if self._closed:
            raise _worker_gone(self._failure or "the run closed it")
        if self._local is None:
            import logging

            from sleuth.http.wire import LocalTransport

            if not self._was_ready:  # a death mid-run is logged by _died
                logging.getLogger("sleuth").warning(
                    "sleuth's HTTP worker did not start (%s): requests are made in "
                    "the run's own process",
                    self._failure,
                )
            self._local = LocalTransport(self._caps)
        return self._local

    async def _connected(self) -> _Outbox:
        import asyncio

        if self._failure is not None:
            raise _worker_gone(self._failure)
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        await asyncio.shield(self._connecting)
        assert self._outbox is not None  # noqa: S101 (set by _connect)
        return self._outbox

    async def _connect(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        reader, writer = await asyncio.open_connection(sock=self._handle.sock)
        self._outbox = _Outbox(writer)
        # Kept: the loop holds its tasks only weakly.
        self._reader = loop.create_task(self._read_answers(reader))

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        import asyncio

        try:
            failure = "it closed its end of the connection"
            while (event := await _read_frame(reader)) is not None:
                name, fields = event
                if name == "gone":  # its last word
                    failure = f"it failed ({fields['why']})"
                    break
                getattr(self, f"on_{name}")(**fields)
        except Exception as exc:  # a broken frame: nothing more can be read
            failure = f"its answers could not be read ({type(exc).__name__})"
        self._set_ready(False)  # if it never was: the run makes its requests
        if self._closed:
            self._fail_all(self._failure or failure)
        elif self._was_ready:
            # Its socket closes a moment before the process can be reaped:
            # wait that moment (not long), to say how it ended. Requests made
            # meanwhile go to the run's own transport (a failure is set).
            self._failure = self._failure or failure
            for _ in range(_DEATH_WAIT_POLLS):
                if self._handle.exited():
                    break
                await asyncio.sleep(_REAP_POLL_S)
            self._died(failure)
        else:
            self._failure = self._failure or failure

    # -- the worker's events ------------------------------------------------

    def on_ready(self) -> None:
        self._was_ready = True
        self._set_ready(True)

    def on_body(self, *, rid: int, progress: BodyProgress) -> None:
        """Headers came for ``rid``, and its body is coming."""
        trace = self._traces.get(rid)
        if trace is not None:
            trace.body = progress

    def on_response(
        self,
        *,
        rid: int,
        answer: Answer | None,
        error: Exception | None,
        marks: dict[str, float],
    ) -> None:
        request = self._pending.pop(rid, None)
        if request is not None and not request.future.done():
            request.future.set_result((answer, error, marks))

    def _set_ready(self, ready: bool) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(ready)

    def _fail_all(self, failure: str) -> None:
        self._failure = self._failure or failure
        pending, self._pending = self._pending, {}
        for request in pending.values():
            if not request.future.done():
                request.future.set_exception(_worker_gone(self._failure))

    def _died(self, failure: str) -> None:
        """The worker ended mid-run: what it had in flight is the run's now.

        Reads are sent again from the run's own process (their deadlines are
        the run's, so none waits longer for it); a write is not sent twice.
        """
        import logging

        failure = self._handle.how_it_ended(failure)
        self._failure = failure
        self._handle.signal_kill()  # gone already, or no longer to be trusted
        pending, self._pending = self._pending, {}
        resent = lost = 0
        for request in pending.values():
            if request.future.done():
                continue
            if request.method in RESENDABLE:
                request.future.set_result((_RESEND, None, {}))
                resent += 1
            else:
                request.future.set_exception(_write_lost(request, failure))
                lost += 1
        self._handle.death = WorkerDeath(failure=failure, resent=resent, lost=lost)
        logging.getLogger("sleuth").warning("%s", self._handle.death.line())

    async def close(self) -> None:
        """Tell the worker to end, and reap it: killed if it has not left in time."""
        import asyncio

        self._closed = True
        self._failure = self._failure or "the run closed it"
        self._set_ready(False)
        if self._local is not None:
            await self._local.close()
        handle = self._handle
        if self._outbox is not None:
            await self._outbox.close()
        else:
            handle.sock.close()
        for _ in range(int(_REAP_TIMEOUT_S / _REAP_POLL_S)):
            if handle.exited():
                return
            await asyncio.sleep(_REAP_POLL_S)
        handle.stop(grace_s=0.0)


def _worker_gone(failure: str) -> Exception:
    from sleuth.errors import SleuthFault

    return SleuthFault(
        f"sleuth's HTTP worker process stopped: {failure}. No answer from the "
        f"target is known for this request. Run again with {ENV_SWITCH}=0 to "
        f"make the requests in the run's own process."
    )


def _write_lost(request: _InFlight, failure: str) -> Exception:
    """A write the worker had when it died: not sent twice, and said so."""
    from sleuth.errors import SleuthFault

    if request.outbox.flushed > request.frame:
        reached = (
            "it had been handed to the worker, so it may have reached the target: "
            "check there before sending it again"
        )
    else:
        reached = "it had not left the run, so nothing was sent"
    return SleuthFault(
        f"{request.method} {request.url}: sleuth's HTTP worker process stopped "
        f"({failure}) with this request in flight; {reached}. sleuth does not "
        f"send a write twice. Run again with {ENV_SWITCH}=0 to make the requests "
        f"in the run's own process."
    )


class _Resend:
    """The answer to a read the worker died with: send it again from the run."""


_RESEND = _Resend()


class _InFlight:
    """A request handed to the worker, until its answer comes."""

    __slots__ = ("frame", "future", "method", "outbox", "url")

    def __init__(
        self,
        future: asyncio.Future[Any],
        method: str,
        url: str,
        frame: int,
        outbox: _Outbox,
    ) -> None:
        self.future = future
        self.method = method
        self.url = url
        self.frame = frame  # its place among the frames sent (see _Outbox)
        self.outbox = outbox


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDeath:
    """The worker ended mid-run: why, and what became of its requests in flight."""

    failure: str
    resent: int  # reads sent again from the run's own process
    lost: int  # writes not sent twice (failed, category sleuth)

    def line(self) -> str:
        """One line for the run's summary: sleuth's own trouble, not the target's."""
        line = (
            f"sleuth's HTTP worker process stopped mid-run ({self.failure}); "
            f"{self.resent} read{'s' * (self.resent != 1)} in flight sent again "
            f"from the run's own process, and later requests made there"
        )
        if self.lost:
            line += (
                f"; {self.lost} write{'s' * (self.lost != 1)} in flight not sent "
                f"twice (failed, category sleuth)"
            )
        return line


# -- frames: a 4-byte length, then a pickle ----------------------------------


class _Outbox:
    """Frames to send, written once per loop turn (one system call for many)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._frames: list[bytes] = []
        self.queued = 0  # frames given to send()
        self.flushed = 0  # of those, how many were handed to the socket

    def send(self, message: object) -> int:
        """Queue ``message``; its number among the frames sent."""
        frame = _frame(message)
        if not self._frames:
            import asyncio

            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(frame)
        self.queued += 1
        return self.queued - 1

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if not self._writer.is_closing():
            self._writer.write(b"".join(frames))
            self.flushed = self.queued

    async def close(self) -> None:
        self._flush()
        self._writer.close()
        with contextlib.suppress(Exception):  # closing is best effort
            await self._writer.wait_closed()


def _event(name: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    """An event as it travels: its name, and its fields by name."""
    return (name, fields)


def _frame(message: object) -> bytes:
    import pickle

    blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return len(blob).to_bytes(_HEADER_BYTES, "big") + blob


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the stream."""
    import asyncio
    import pickle

    try:
        header = await reader.readexactly(_HEADER_BYTES)
        blob = await reader.readexactly(int.from_bytes(header, "big"))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return pickle.loads(blob)  # noqa: S301 (our own process, over a socketpair)


__all__ = [
    "ENV_SWITCH",
    "RESENDABLE",
    "WorkerClient",
    "WorkerDeath",
    "WorkerHandle",
    "offered",
    "start",
    "worker_main",
]
