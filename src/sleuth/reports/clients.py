"""What the read-only rule held in a run, said when some traffic it did not.

The probes' own code may use clients sleuth sees but cannot guard (psycopg,
redis-py: sleuth/clients). The run never says "read-only" over such traffic
alone: the summary, the JSON and the Markdown report name the clients the
rule held and those it did not, with how many probes used each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sleuth.reports.mdtext import counted

# Always held: sleuth's own HTTP client.
OWN = "target.http"


def tally(used: Iterable[Mapping[str, bool]]) -> list[dict[str, Any]]:
    """``[{"name": "psycopg", "guarded": False, "probes": 2}, ...]`` from each
    probe's clients, in the order first used."""
    found: dict[str, dict[str, Any]] = {}
    for clients in used:
        for name, guarded in clients.items():
            entry = found.setdefault(
                name, {"name": name, "guarded": guarded, "probes": 0}
            )
            entry["probes"] += 1
    return list(found.values())


def held_line(clients: Iterable[Mapping[str, Any]], *, lead: str) -> str | None:
    """``{lead} target.http, requests; not for psycopg (2 probes used it: sleuth
    cannot guard its writes)``; None when every client used was held."""
    clients = list(clients)
    held = [OWN, *(str(c["name"]) for c in clients if c["guarded"])]
    not_held = [c for c in clients if not c["guarded"]]
    if not not_held:
        return None
    uses = [f"{c['name']} ({counted(c['probes'], 'probe')} used it" for c in not_held]
    if len(uses) == 1:
        why = f"{uses[0]}: sleuth cannot guard its writes)"
    else:
        why = f"{') and '.join(uses)}): sleuth cannot guard their writes"
    return f"{lead} {', '.join(dict.fromkeys(held))}; not for {why}"
