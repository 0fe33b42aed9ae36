"""The read-only rule: which requests a probe may send, and the refusal when not.

One rule for every way a probe reaches a target: ``target.http`` and the HTTP
clients of the probe's own code (requests, httpx, ...; see sleuth/clients).
"""

from __future__ import annotations

from sleuth.engine.context import ProbeContext
from sleuth.errors import WriteRefused

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_write_allowed(
    ctx: ProbeContext, method: str, url: str, *, via: str | None = None
) -> None:
    """Refuse a method that changes things unless the probe and the run allow it.

    ``via`` names the client the probe's own code used ("requests"), so the
    refusal points at the call: ``POST http://host/users via requests refused``.
    """
    __tracebackhide__ = True
    if method in SAFE_METHODS or (ctx.writes_marked and ctx.allow_writes):
        return
    missing = []
    if not ctx.writes_marked:
        missing.append(
            "this probe is not marked @pytest.mark.writes (nor named under writes: "
            "in the suite's config)"
        )
    if not ctx.allow_writes:
        missing.append("this run does not have --allow-writes")
    call = f"{method} {url}" + (f" via {via}" if via else "")
    raise WriteRefused(
        f"{call} refused: sleuth is read-only unless a probe is marked "
        f"@pytest.mark.writes and the run has --allow-writes; {' and '.join(missing)}. "
        f"Nothing was sent.",
        method=method,
        url=url,
    )
