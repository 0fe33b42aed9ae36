"""RabbitMQ's management API, as the amqp probe reads it: the nodes and their alarms.

Asked only when a service gives ``management_url``; over aiohttp, which sleuth
has already, under the probe's deadline (the caller bounds it).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    """One broker node as the management API sees it."""

    name: str
    running: bool
    alarms: tuple[str, ...]  # "memory", "disk"
    partitions: tuple[str, ...]


class Refused(Exception):
    """The API refused the credentials (401/403), and its reason, if it gave one."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason  # "Login failed", "Not management user"


class BadStatus(Exception):
    """The API answered, but not with the list of nodes."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


async def get_nodes(url: str, amqp_url: str) -> tuple[int, tuple[NodeState, ...]]:
    """GET ``url`` (…/api/nodes): the status and each node's state.

    Credentials come from ``url``, else from the AMQP URL's, else guest.
    """
    import aiohttp

    from sleuth._version import USER_AGENT
    from sleuth.clients import aiohttp_hook

    parts, amqp = urlsplit(url), urlsplit(amqp_url)
    user = unquote(parts.username or amqp.username or "guest")
    password = unquote(parts.password or amqp.password or "guest")
    plain_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    async with (
        aiohttp_hook.mark_own(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        ) as session,
        session.get(
            plain_url,
            headers={**_basic_auth(user, password), "User-Agent": USER_AGENT},
        ) as answer,
    ):
        if answer.status in (401, 403):
            raise Refused(answer.status, _reason(await answer.text(errors="replace")))
        if answer.status != 200:
            raise BadStatus(answer.status, (await answer.text(errors="replace"))[:200])
        body = await answer.json()
    if not isinstance(body, list):
        raise BadStatus(answer.status, "the answer is not a list of nodes")
    return answer.status, tuple(_node_state(node) for node in body)


def _node_state(node: Mapping[str, Any]) -> NodeState:
    alarms = tuple(
        label
        for key, label in (("mem_alarm", "memory"), ("disk_free_alarm", "disk"))
        if node.get(key)
    )
    return NodeState(
        name=str(node.get("name", "?")),
        running=bool(node.get("running", False)),
        alarms=alarms,
        partitions=tuple(str(p) for p in node.get("partitions") or ()),
    )


def _reason(body: str) -> str:
    """The API's own words on a refusal: which of user and tag is wrong."""
    try:
        said = json.loads(body)
    except ValueError:
        return ""
    reason = said.get("reason") if isinstance(said, dict) else None
    return str(reason)[:100] if reason else ""


def _basic_auth(user: str, password: str) -> dict[str, str]:
    # By hand: aiohttp.BasicAuth is deprecated in new aiohttp versions.
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}
