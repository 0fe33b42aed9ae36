"""Settings from the app's pydantic-settings model, e.g. ``shop_app.settings:Settings``.

The class is imported from the suite's directory, as the app source imports
its function, and built the way the app builds it: by instantiating it, so
pydantic-settings' own sources run in the app's order with its ``env_prefix``,
``env_file``, ``secrets_dir``, aliases and nested delimiter (relative files are
read from the working directory, as the app reads them). Each field is then
present and valid (and from which source), missing, or invalid with pydantic's
reason: the error's type and message, never its input (pydantic's own text
quotes ``input_value=...``, so it is never used). Built once per run.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from sleuth.engine import imports
from sleuth.settings import Found, SourceUnavailable, modeltext, origins
from sleuth.suite.sources import SourceSpec

FieldPath = tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldReport:
    """One field (or a nested model's leaf) as the built model has it."""

    name: str  # "port", or "db.password" for a nested model's leaf
    # absent: missing or None; error: invalid
    state: Literal["present", "absent", "error"]
    value: Any = None  # plain: a SecretStr's text, an enum's value, a URL's text
    origin: str = ""  # "environment", "dotenv .env", "secrets dir /run/x", "default"
    reason: str = ""  # for absent and error: why, without the value
    type_name: str = ""
    secret: bool = False  # a SecretStr/SecretBytes field
    has_default: bool = False
    default: Any = None

    def found(self) -> Found:
        if self.state == "present":
            answer = Found.of(self.value, detail=f"from {self.origin}")
            return dataclasses.replace(answer, secret=self.secret)
        return Found(self.state, detail=self.reason)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """The model built once: every field's report, and the names it answers to."""

    fields: dict[FieldPath, FieldReport]
    aliases: dict[str, FieldPath]  # env names, aliases (folded if case-insensitive)
    case_sensitive: bool
    rejected: tuple[tuple[str, Any, bool], ...] = ()  # (field, invalid input, secret)
    # Errors of the model as a whole (its model validators), without a value.
    model_errors: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """Why the app's ``Settings()`` raises: each wrong field, in a few words."""
        said = [
            f"{r.name} {'missing' if r.state == 'absent' else 'invalid'}"
            for path, r in self.fields.items()
            if len(path) == 1
            and (r.state == "error" or r.reason.startswith("required"))
        ]
        return [*said, *self.model_errors]

    def resolve(self, name: str) -> FieldPath | None:
        path = tuple(name.split("."))
        if path in self.fields:
            return path
        key = name if self.case_sensitive else name.casefold()
        return self.aliases.get(key)


class ModelSource:
    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.spec = spec
        self.root = root
        self.is_secret = bool(spec.options.get("secret", False))
        self.label = f"model {spec.location}"
        self.where = spec.where
        self._lock = threading.Lock()
        self._class: type[Any] | None = None
        self._built: Built | None = None

    def model_class(self) -> type[Any]:
        """The app's class (imported on first use).

        Raises:
            SourceUnavailable: it cannot be imported or is not a settings
                model, or pydantic-settings is not installed (with the hint).
        """
        with self._lock:
            if self._class is None:
                self._class = _import(self.spec.location, self.root)
            return self._class

    @property
    def class_name(self) -> str:
        return self.spec.location.rpartition(":")[2]

    def field_names(self) -> list[str]:
        """The model's own fields, in declaration order."""
        return list(self.model_class().model_fields)

    def build(self) -> Built:
        model = self.model_class()
        with self._lock:
            if self._built is None:
                with imports.LOCK:  # pydantic builds the probing subclass's schema
                    self._built = _build(model)
            return self._built

    def lookup(self, name: str) -> Found:
        built = self.build()
        path = built.resolve(name)
        if path is None:
            return Found("absent", detail=f"not a field of {self.spec.location}")
        return built.fields[path].found()

    def report(self, name: str) -> FieldReport | None:
        built = self.build()
        path = built.resolve(name)
        return None if path is None else built.fields[path]

    def default_text(self, name: str) -> str | None:
        """The model's default for field ``name`` as text; None when it has none
        (required) or it is None: what ``not_placeholder`` also refuses."""
        report = self.report(name)
        if report is None or not report.has_default or report.default is None:
            return None
        default = report.default
        return default.decode() if isinstance(default, bytes) else str(default)

    def names(self) -> Iterable[str]:
        return [report.name for report in self.build().fields.values()]


def _import(location: str, root: Path) -> type[Any]:
    try:
        from pydantic_settings import BaseSettings
    except ImportError as exc:
        # A source that cannot be read, said once as a root cause, with the hint.
        raise SourceUnavailable(
            "needs the 'pydantic-settings' package. Install it with: "
            "pip install 'sleuth[pydantic]'"
        ) from exc
    module_name, _, attribute = location.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        target: Any = imports.load(module_name)
    except Exception as exc:  # its own import may fail too
        raise SourceUnavailable(f"cannot be imported ({modeltext.why(exc)})") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SourceUnavailable(
                f"has no {part!r}: {module_name} imports, but {attribute} is not in it"
            )
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, BaseSettings)):
        raise SourceUnavailable(
            f"is not a pydantic-settings model: {attribute} is not a subclass of "
            f"pydantic_settings.BaseSettings"
        )
    return target


def _build(model: type[Any]) -> Built:
    from pydantic import BaseModel, ValidationError
    from pydantic_settings import EnvSettingsSource, SettingsError

    used: list[Any] = []

    def customise(cls: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        # The app's own choice of sources, kept to say where each value came from.
        sources = super(probe, cls).settings_customise_sources(*args, **kwargs)
        used[:] = list(sources)
        return tuple(sources)

    probe: type[Any] = type(
        model.__name__,
        (model,),
        {
            "__module__": model.__module__,
            "__qualname__": model.__qualname__,
            "settings_customise_sources": classmethod(customise),
        },
    )
    instance: Any = None
    errors: list[Any] = []
    try:
        instance = probe()
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    except SettingsError as exc:  # its text names the field and source, not the value
        raise SourceUnavailable(f"cannot be built ({exc})") from exc
    except Exception as exc:
        raise SourceUnavailable(f"cannot be built ({modeltext.why(exc)})") from exc
    env = next((s for s in used if isinstance(s, EnvSettingsSource)), None)
    if env is None:
        env = EnvSettingsSource(model)
    case_sensitive = bool(getattr(env, "case_sensitive", False))
    delimiter = getattr(env, "env_nested_delimiter", None) or ""
    states = origins.states(used, model, env)
    fields: dict[FieldPath, FieldReport] = {}
    aliases: dict[str, FieldPath] = {}
    rejected: list[tuple[str, Any, bool]] = []
    for name, info in model.model_fields.items():
        keys = modeltext.keys(name, info)
        env_names = [e for _, e, _ in env._extract_field_info(info, name)]
        for alias in [*keys, *env_names]:
            aliases.setdefault(alias if case_sensitive else alias.casefold(), (name,))
        mine = [e for e in errors if e["loc"] and e["loc"][0] in keys]
        origin = origins.origin(states, keys)
        # A secrets dir is a secret store: what it holds is secret, whatever its type.
        secret = modeltext.is_secret_type(info.annotation) or origin.startswith(
            "secrets dir"
        )
        if mine:
            looked = ", ".join(
                label
                for label, _ in states
                if label not in ("default", "init arguments")
            )
            env_name = env_names[0].upper() if env_names else name
            fields[(name,)] = _failed(
                name, info, mine, origin, secret, looked=f"{env_name} in {looked}"
            )
            rejected.extend(
                (name, e["input"], secret)
                for e in mine
                if isinstance(e.get("input"), (str, bytes))
            )
            continue
        value = getattr(instance, name) if instance is not None else None
        if instance is None:
            value = _validated_alone(model, name, states, keys)
        fields[(name,)] = FieldReport(
            name=name,
            state="present" if value is not None else "absent",
            value=modeltext.plain(value),
            origin=origin or "default",
            reason="" if value is not None else _unset(info, env_names),
            type_name=modeltext.type_name(info.annotation),
            secret=secret,
            has_default=not info.is_required(),
            default=modeltext.plain(info.get_default(call_default_factory=True))
            if not info.is_required()
            else None,
        )
        if isinstance(value, BaseModel):
            for leaf, leaf_value, leaf_secret in _leaves(value, (name,)):
                leaf_origin = origins.origin(states, keys, leaf[1:]) or "default"
                fields[leaf] = FieldReport(
                    name=".".join(leaf),
                    state="present" if leaf_value is not None else "absent",
                    value=modeltext.plain(leaf_value),
                    origin=leaf_origin,
                    secret=leaf_secret or leaf_origin.startswith("secrets dir"),
                )
                for env_name in env_names if delimiter else []:
                    alias = delimiter.join([env_name, *leaf[1:]])
                    aliases.setdefault(
                        alias if case_sensitive else alias.casefold(), leaf
                    )
    matched = {
        key
        for name in model.model_fields
        for key in modeltext.keys(name, model.model_fields[name])
    }
    model_errors = tuple(
        f"{'.'.join(map(str, e['loc'])) or 'the model'}: "
        f"{modeltext.reason(e, whole=True)}"
        for e in errors
        if not e["loc"] or e["loc"][0] not in matched
    )
    return Built(
        model_errors=model_errors,
        fields=fields,
        aliases=aliases,
        case_sensitive=case_sensitive,
        rejected=tuple(rejected),
    )


def _failed(
    name: str, info: Any, errors: list[Any], origin: str, secret: bool, *, looked: str
) -> FieldReport:
    type_name = modeltext.type_name(info.annotation)
    if all(e["type"] == "missing" and len(e["loc"]) == 1 for e in errors):
        return FieldReport(
            name=name,
            state="absent",
            reason=f"required {type_name}, not set (looked for {looked})",
            type_name=type_name,
            secret=secret,
        )
    said = "; ".join(modeltext.reason(e) for e in errors[:3])
    where = f" (from {origin})" if origin else ""
    return FieldReport(
        name=name,
        state="error",
        reason=f"invalid{where}: {said}; expected {type_name}",
        type_name=type_name,
        secret=secret,
    )


def _unset(info: Any, env_names: list[str]) -> str:
    where = f" (e.g. {env_names[0].upper()})" if env_names else ""
    return f"not set{where}; its default is None"


def _validated_alone(
    model: type[Any],
    name: str,
    states: list[tuple[str, dict[str, Any]]],
    keys: list[str],
) -> Any:
    """A valid field's value when another field failed the model: validated by
    itself (its own validators run), or its default when no source set it."""
    raw = next((state[k] for _, state in states for k in keys if k in state), _MISSING)
    info = model.model_fields[name]
    if raw is _MISSING:
        return (
            None if info.is_required() else info.get_default(call_default_factory=True)
        )
    try:
        blank = model.model_construct()
        model.__pydantic_validator__.validate_assignment(blank, name, raw)
        return getattr(blank, name)
    except Exception:  # frozen models refuse assignment: the raw value then
        return raw


_MISSING = origins.MISSING


def _leaves(model: Any, path: FieldPath) -> Iterable[tuple[FieldPath, Any, bool]]:
    from pydantic import BaseModel

    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _leaves(value, (*path, name))
        else:
            yield (*path, name), value, modeltext.is_secret_type(info.annotation)
