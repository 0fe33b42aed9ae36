"""Serving the app with uvicorn: in the foreground (``sleuth serve``) or in a
thread (``sleuth watch --serve``, through ``start_in_thread``).

The socket is bound here, before uvicorn starts, so a taken address is a
one-line error at once, and port 0 gives a free port whose URL is known.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING

from sleuth.errors import SleuthError

if TYPE_CHECKING:
    import uvicorn

    from sleuth.web.auth import Auth

DEFAULT_ADDRESS = "127.0.0.1:9464"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class ServeError(SleuthError):
    """The page cannot be served: a bad or taken address, a missing extra."""


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT``, ``:PORT`` (loopback) or ``PORT`` alone."""
    text = address.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise ServeError(
            f"{address!r} is not an address to serve on: give HOST:PORT "
            f"(e.g. {DEFAULT_ADDRESS}) or a port"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, auth: Auth | None) -> None:
    """Refuse a non-loopback address without ``--auth``."""
    if auth is None and not is_loopback(host):
        raise ServeError(
            f"refusing to serve on {host} without --auth: the page and the API "
            f"would be open to anyone who can reach it. Give --auth "
            f"bearer:ENVVAR or --auth basic:USER:HASH, or serve on 127.0.0.1"
        )


def require_web_extra() -> None:
    try:
        import jinja2  # noqa: F401
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ServeError(
            f"the status page needs the 'web' extra ({exc.name} is missing). "
            f"Install it with: pip install 'sleuth[web]'"
        ) from None


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = "already in use" if exc.errno == 98 else (exc.strerror or str(exc))
        raise ServeError(
            f"cannot serve on {_url_host(host)}:{port}: {why}. Pick another "
            f"address (sleuth serve 127.0.0.1:PORT)"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def check_store(history_url: str) -> None:
    """Open the store once, so an unreachable one fails at start, clearly."""
    from sleuth.history.recorder import describe_error, display_store
    from sleuth.history.store import HistoryStore

    try:
        HistoryStore.open(history_url, create_dir=False).close()
    except Exception as exc:
        raise ServeError(
            f"the history store {display_store(history_url)} could not be opened "
            f"({describe_error(exc, history_url)})"
        ) from None


def make_server(
    sock: socket.socket, *, history_url: str, auth: Auth | None
) -> uvicorn.Server:
    import uvicorn

    from sleuth.web.app import create_app

    config = uvicorn.Config(
        create_app(history_url, auth=auth),
        log_level="warning",
        lifespan="on",
        access_log=False,
        server_header=False,
    )
    return uvicorn.Server(config)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{_url_host(host)}:{port}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve_forever(address: str, *, history_url: str, auth: Auth | None = None) -> None:
    """``sleuth serve``: serve until Ctrl-C or SIGTERM (uvicorn's handlers)."""
    require_web_extra()
    host, port = parse_address(address)
    check_exposure(host, auth)
    check_store(history_url)
    sock = bind(host, port)
    server = make_server(sock, history_url=history_url, auth=auth)
    # The first line says where: a caller that asked for port 0 reads it.
    where = f"{url_of(sock)} from {_store_name(history_url)}"
    sys.stdout.write(f"sleuth: serving {where}\n")
    sys.stdout.flush()
    # uvicorn shuts down gracefully on either signal, then raises it again
    # for the handler it found: make that an ordinary exit, not a kill.
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _store_name(url: str) -> str:
    from sleuth.history.recorder import display_store

    return display_store(url)


@dataclasses.dataclass(slots=True)
class RunningServer:
    """A server in a thread of this process: its ``url``, and ``stop()``."""

    url: str
    _server: uvicorn.Server
    _thread: threading.Thread
    _sock: socket.socket

    def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop accepting, finish the requests in flight, and join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():  # requests that would not end
            self._server.force_exit = True
            self._thread.join(timeout_s)
        self._sock.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    address: str, *, history_url: str, auth: Auth | None = None
) -> RunningServer:
    """Serve the store at ``history_url`` on ``address`` from a thread; returns
    once it answers (port 0: a free port, see ``.url``).

    Raises:
        ServeError: the web extra is missing, the address is not loopback and
            no ``auth`` is given, the address is taken, the store cannot be
            opened, or the server did not start in time.
    """
    require_web_extra()
    host, port = parse_address(address)
    check_exposure(host, auth)
    check_store(history_url)
    sock = bind(host, port)
    server = make_server(sock, history_url=history_url, auth=auth)
    # uvicorn installs signal handlers only on the main thread: the caller's stay.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sleuth-web", daemon=True
    )
    thread.start()
    running = RunningServer(
        url=url_of(sock), _server=server, _thread=thread, _sock=sock
    )
    waited = threading.Event()
    for _ in range(int(START_TIMEOUT_S / 0.02)):
        if server.started or not thread.is_alive():
            break
        waited.wait(0.02)
    if not server.started:
        running.stop()
        raise ServeError(f"the status page did not start on {running.url}")
    return running
