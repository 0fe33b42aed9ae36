"""Rows of dependency kinds (``postgres:``, ``redis:``, ``tcp:``...): health checks.

A row is ``target.dependency(kind, service, **address).check(**thresholds)``.
Its keys are sorted by the kind's helper class (``sleuth.probes.KINDS``), which
declares ``address_keys`` (where the dependency is) and ``check_keys`` (the
thresholds ``check()`` takes); the rest are the keys every row has, plus
``service:`` for a dependency named in the target's ``services:``. A row that
is just a string names such a service: ``- orders``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.redact import mask_dsn
from sleuth.rows.table import PathT, Row, Table, read_common, row_list
from sleuth.suite.validate import kind_of

if TYPE_CHECKING:
    from sleuth.target import Target

ROW_KEYS = frozenset({"service", "timeout", "needs", "tags"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DependencyRow:
    """One ``check()`` of one dependency, as a table row wrote it."""

    kind: str
    service: str | None
    address: Mapping[str, Any]
    thresholds: Mapping[str, Any]
    where: str

    def run(self, target: Target) -> None:
        """Build the helper and check it; a bad value names the row's line."""
        __tracebackhide__ = True
        try:
            helper = target.dependency(self.kind, self.service, **self.address)
            helper.check(**self.thresholds)
        except ConfigError as exc:
            raise ConfigError(str(exc), where=self.where) from exc


def parse_rows(kind: str, body: Any, path: PathT, table: Table) -> list[Row]:
    from sleuth.probes import load_kind

    items = row_list(body, path, table, example="[{service: main}]")
    try:
        helper = load_kind(kind)
    except ConfigError as exc:
        raise table.fail(path, str(exc)) from None
    address_keys = frozenset(getattr(helper, "address_keys", ()))
    check_keys = frozenset(getattr(helper, "check_keys", ()))
    # dns rows resolve a `name`: there the row's own name is `id`.
    label_key = "id" if "name" in address_keys | check_keys else "name"
    allowed = ROW_KEYS | address_keys | check_keys | {label_key}
    return [
        _parse_row(
            kind, item, (*path, i), table, address_keys, check_keys, allowed, label_key
        )
        for i, item in enumerate(items)
    ]


def _parse_row(
    kind: str,
    item: Any,
    path: PathT,
    table: Table,
    address_keys: frozenset[str],
    check_keys: frozenset[str],
    allowed: frozenset[str],
    label_key: str,
) -> Row:
    if isinstance(item, str) and item.strip():
        item = {"service": item.strip()}
    if not isinstance(item, dict) or not item:
        raise table.fail(
            path, f"a {kind} row is a service name, or a mapping of "
            f"{', '.join(sorted(allowed))}; found {kind_of(item)}",
        )  # fmt: skip
    table.check_keys(item, allowed, path, f"a {kind} row")
    service = item.get("service")
    if service is not None and (not isinstance(service, str) or not service.strip()):
        raise table.fail(
            (*path, "service"), f"service must name a {kind} service of the target, "
            f"found {kind_of(service)}",
        )  # fmt: skip
    address = {k: v for k, v in item.items() if k in address_keys}
    if service is None and not address:
        raise table.fail(
            path,
            f"a {kind} row needs service: (a name under services: {kind}: in "
            f"sleuth.yaml) or its address: one of {', '.join(sorted(address_keys))}",
        )
    common = read_common(item, path, table, name_key=label_key)
    where = table.where(path)
    check = DependencyRow(
        kind=kind,
        service=service,
        address=address,
        thresholds={k: v for k, v in item.items() if k in check_keys},
        where=where,
    )
    return Row(
        id=common.name or _default_id(kind, service, address),
        section=kind,
        line=table.line(path),
        where=where,
        body=check.run,
        timeout_s=common.timeout_s,
        needs=common.needs,
        tags=common.tags,
    )


def _default_id(kind: str, service: str | None, address: Mapping[str, Any]) -> str:
    """``postgres orders``, ``redis redis://cache:6379``, ``tcp host=db port=5432``."""
    parts = [service] if service else []
    if len(address) == 1 and not service:
        parts.append(mask_dsn(str(next(iter(address.values())))))
    else:
        parts.extend(f"{k}={mask_dsn(str(v))}" for k, v in address.items())
    return " ".join([kind, *parts])
