"""A throwaway RabbitMQ node with its management API, for the alarm tests.

A memory or disk alarm blocks every publisher on a broker, so alarms are
raised on a node of the tests' own, never on the machine's: its own node name,
AMQP, management and distribution ports on loopback, and its data, logs and
Erlang cookie in a temporary directory. Started from the machine's
rabbitmq-server; killed and removed when the block ends.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import free_port, require_program, running, wait_until

_START_WITHIN_S = 90.0  # about 9 s here; Erlang boots slowly on a busy machine


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RabbitNode:
    name: str  # sleuth-test-…@localhost
    amqp_port: int
    management_port: int
    start_s: float
    ctl_argv: tuple[str, ...]
    ctl_env: Mapping[str, str]

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    @property
    def management_url(self) -> str:
        return f"http://guest:guest@127.0.0.1:{self.management_port}"

    def ctl(self, *args: str) -> None:
        """``rabbitmqctl ARGS`` against this node (the test's own set-up)."""
        done = subprocess.run(
            [*self.ctl_argv, "-n", self.name, *args],
            env=dict(self.ctl_env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {done.stderr}")

    def api(self, path: str) -> Any:
        return management_call(self.management_url, path)


def management_call(
    base_url: str, path: str, *, method: str = "GET", body: object = None
) -> Any:
    """The test's own call to a management API (set-up, inspection), not sleuth's.

    ``base_url`` is ``http://user:password@host:port``, as management_url is.
    """
    parts = urlsplit(base_url)
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request = urllib.request.Request(
        f"http://{parts.hostname}:{parts.port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        text = answer.read()
    return json.loads(text) if text else None


@contextlib.contextmanager
def throwaway_node() -> Iterator[RabbitNode]:
    started = time.monotonic()
    # On Debian the sbin name links to a wrapper beside the real scripts.
    bindir = Path(require_program("rabbitmq-server")).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="sleuth-rabbitmq-"))
    amqp_port, management_port = free_port(), free_port()
    name = f"sleuth-test-{uuid.uuid4().hex[:8]}@localhost"
    (root / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = 127.0.0.1:{amqp_port}\n"
        f"management.tcp.ip = 127.0.0.1\n"
        f"management.tcp.port = {management_port}\n"
        # The API sees an alarm within half a second, not five.
        f"collect_statistics_interval = 500\n"
    )
    (root / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (root / "rabbitmq-env.conf").write_text("")  # not the machine's NODENAME
    common = {
        "HOME": str(root),  # the Erlang cookie
        "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }
    server_env = {
        **common,
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(root / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_PID_FILE": str(root / "pid"),
        # Else the AMQP port + 20000, which may not be a port at all.
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
            "-kernel inet_dist_use_interface {127,0,0,1}"
        ),
    }
    try:
        with running(
            [str(bindir / "rabbitmq-server")],
            management_port,
            env=server_env,
            within_s=_START_WITHIN_S,
        ) as server:
            node = RabbitNode(
                name=name,
                amqp_port=amqp_port,
                management_port=management_port,
                start_s=0.0,
                ctl_argv=(str(bindir / "rabbitmqctl"),),
                ctl_env={**os.environ, **common},
            )
            # The node's figures come with its first statistics, a moment later.
            wait_until(
                "the management API has the node's statistics",
                lambda: _has_statistics(node),
            )
            try:
                yield dataclasses.replace(node, start_s=time.monotonic() - started)
            finally:
                # Killed, not stopped: a clean shutdown takes seconds, for nothing.
                os.killpg(server.pid, signal.SIGKILL)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _has_statistics(node: RabbitNode) -> bool:
    try:
        return "mem_alarm" in node.api("/api/nodes")[0]
    except (OSError, ValueError, IndexError):  # still booting: asked again
        return False
