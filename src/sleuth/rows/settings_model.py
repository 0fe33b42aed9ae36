"""``settings: {model: shop_app.settings:Settings}``: one probe per model field.

    settings:
      model: shop_app.settings:Settings
      # or {class: shop_app.settings:Settings, not_placeholder: true}

The class is imported when the table is read, to know its fields; the model is
built (its sources read) when the first of its probes runs, once per run, by
the target's own model source when it has one for that class. Each probe passes
when its field is present and valid, and fails saying missing, or invalid with
pydantic's reason and where the value came from; never the value. One more
probe, ``setting Settings``, is the model as a whole: it fails when the app's
``Settings()`` would raise, naming every field at fault and the model's own
validators' errors.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sleuth.engine import context as _context
from sleuth.errors import CheckFailed, SleuthError
from sleuth.rows.table import PathT, Row, Table, read_common
from sleuth.settings import SourceUnavailable
from sleuth.settings.checks import SettingChecks
from sleuth.settings.model import ModelSource
from sleuth.suite.sources import SourceSpec
from sleuth.suite.validate import kind_of

if TYPE_CHECKING:
    from sleuth.target import Target

MODEL_KEYS = frozenset({"class", "not_placeholder", "needs", "tags"})


def is_model_rule(value: Any) -> bool:
    """Is ``model:`` in a settings section a model (not a setting named model)?"""
    return isinstance(value, str) or (isinstance(value, dict) and "class" in value)


def parse_model_rows(value: Any, path: PathT, table: Table) -> list[Row]:
    rules: dict[str, Any] = {"class": value} if isinstance(value, str) else value
    table.check_keys(rules, MODEL_KEYS, path, "the model row")
    location = rules["class"]
    if not isinstance(location, str) or ":" not in location:
        raise table.fail(
            (*path, "class"),
            f"model must be a pydantic-settings class as 'module:Class', e.g. "
            f"shop_app.settings:Settings, found {kind_of(location)}",
        )
    placeholder = rules.get("not_placeholder", False)
    if not isinstance(placeholder, bool):
        raise table.fail(
            (*path, "not_placeholder"), "not_placeholder must be true or false"
        )
    common = read_common(rules, path, table, name_key=None)
    spec = SourceSpec(
        kind="model", location=location, options={}, where=table.where(path)
    )
    source = ModelSource(spec, root=table.root or table.directory)
    class_name = location.rpartition(":")[2]
    broken: Exception | None
    try:
        fields = source.field_names()
    except (SourceUnavailable, SleuthError) as exc:
        # Said when the row runs: an app that cannot import is a finding, not a
        # mistake in the table.
        fields, broken = [], exc
    else:
        broken = None
    probes = [
        FieldRule(source=source, broken=broken),
        *(
            FieldRule(source=source, field=name, not_placeholder=placeholder)
            for name in fields
        ),
    ]
    return [
        Row(
            id=f"setting {class_name}.{rule.field}"
            if rule.field
            else f"setting {class_name}",
            section="settings",
            line=table.line(path),
            where=table.where(path),
            body=rule.run,
            needs=common.needs,
            tags=common.tags,
        )
        for rule in probes
    ]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldRule:
    """One field of a settings model must be present and valid."""

    source: ModelSource
    field: str = ""  # "": the model as a whole
    not_placeholder: bool = False
    broken: Exception | None = None

    def run(self, target: Target) -> None:
        __tracebackhide__ = True
        source = _configured(target, self.source)
        if self.broken is not None and source is self.source:
            raise _failed(source, self.broken)
        try:
            if not self.field:
                problems = source.build().problems()
                if problems:
                    raise CheckFailed(
                        f"{source.label}: the app's {source.class_name}() would "
                        f"raise: {'; '.join(problems)}",
                        target=source.spec.location,
                    )
                return
            report = source.report(self.field)
        except SourceUnavailable as exc:
            raise _failed(source, exc) from None
        if report is None:  # the class changed since it was collected
            raise CheckFailed(
                f"{self.field}: not a field of {source.spec.location}",
                target=self.field,
            )
        _tell(target, source, self.field)
        lookup = target.settings.answered(report.name, source, report.found())
        ctx = _context.current.get()
        if ctx is not None:
            ctx.record_setting(lookup)
        at = f"{self.field} ({source.label})"
        if report.state == "absent":
            raise CheckFailed(f"{at}: missing: {report.reason}", target=self.field)
        if report.state == "error":
            raise CheckFailed(f"{at}: {report.reason}", target=self.field)
        if self.not_placeholder:
            value = report.value
            text = (
                value.decode("utf-8", "replace")
                if isinstance(value, bytes)
                else str(value)
            )
            checks = SettingChecks.build(not_placeholder=True)
            failures = checks.failures(
                text, value, default=source.default_text(self.field)
            )
            if failures:
                raise CheckFailed(
                    f"{at}: present but {'; '.join(failures)} (from {report.origin})",
                    target=self.field,
                )


def _configured(target: Target, source: ModelSource) -> ModelSource:
    """The target's own source for the same class, so the model is built once."""
    for other in target.settings.sources:
        if (
            isinstance(other, ModelSource)
            and other.spec.location == source.spec.location
        ):
            return other
    return source


def _tell(target: Target, source: ModelSource, field: str) -> None:
    """Every value under ``field``, and every value it rejected, to the secret
    registry before anything can print them."""
    built = source.build()
    for path, report in built.fields.items():
        if path[0] == field and report.value is not None:
            secret = report.secret or source.is_secret
            target.settings.tell(report.name, report.value, source, secret=secret)
    for name, given, secret in built.rejected:
        if name == field:
            target.settings.tell(name, given, source, secret=secret)


def _failed(source: ModelSource, exc: Exception) -> Exception:
    if isinstance(exc, SourceUnavailable):
        return CheckFailed(
            f"{source.label} ({source.where}) {exc}", target=source.spec.location
        )
    return exc
