"""Critical settings read from a pydantic-settings model or a ``.env.example``.

Each setting becomes a ``settings:`` row named as the app's environment names
it (``SHOP_DATABASE_URL``: the model's ``env_prefix`` and field, or its alias),
with the checks its type allows: ``type: int``/``bool``/``url``/``email``,
``one_of`` for a ``Literal`` or an ``Enum``, ``not_placeholder`` for a secret.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleuth.init.errors import InitError
from sleuth.redact import looks_secret

Rules = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SettingsPlan:
    """The rows to write, and where the app reads its settings from."""

    rules: dict[str, Rules]
    comments: dict[str, str]
    sources: list[str | dict[str, str]]
    notes: list[str] = dataclasses.field(default_factory=list)


def from_model(ref: str, *, cwd: Path) -> SettingsPlan:
    """The fields of the pydantic-settings class ``module:Class``.

    Raises:
        InitError: the class cannot be imported or is not a settings model.
    """
    model = _import(ref, cwd)
    config: Mapping[str, Any] = getattr(model, "model_config", {}) or {}
    prefix = str(config.get("env_prefix") or "")
    delimiter = config.get("env_nested_delimiter")
    case_sensitive = bool(config.get("case_sensitive"))
    rules: dict[str, Rules] = {}
    comments: dict[str, str] = {}
    defaulted: list[str] = []
    for name, field, env in _fields(model, prefix, delimiter):
        env_name = env if case_sensitive else env.upper()
        rule = _type_rules(field.annotation, name)
        if not field.is_required():
            if not rule:
                defaulted.append(env_name)
                continue
            rule["required"] = False
        rules[env_name] = rule
        if field.description:
            comments[env_name] = " ".join(str(field.description).split())[:60]
    sources: list[str | dict[str, str]] = ["env"]
    env_files = config.get("env_file")
    for env_file in (
        [env_files] if isinstance(env_files, str | Path) else env_files or []
    ):
        sources.append({"dotenv": str(env_file)})
    secrets_dir = config.get("secrets_dir")
    for directory in (
        [secrets_dir] if isinstance(secrets_dir, str | Path) else secrets_dir or []
    ):
        sources.append({"dir": str(directory)})
    notes = []
    if defaulted:
        notes.append(
            "Not checked (they have defaults and no type to check): "
            + ", ".join(defaulted)
            + "."
        )
    return SettingsPlan(rules=rules, comments=comments, sources=sources, notes=notes)


def _import(ref: str, cwd: Path) -> Any:
    module_name, colon, attr = ref.partition(":")
    if not colon or not module_name or not attr:
        raise InitError(
            f"--settings {ref!r}: name the model as module:Class, e.g. "
            f"shop_app.settings:Settings"
        )
    root = str(cwd)
    if root not in sys.path:
        sys.path.insert(0, root)  # as the app source does: the suite's own modules
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError(
            f"--settings {ref!r}: cannot import {module_name}: {exc}. Run sleuth "
            f"init where the app's package imports (or set PYTHONPATH)."
        ) from None
    except Exception as exc:  # the app's module failed while it was imported
        raise InitError(
            f"--settings {ref!r}: importing {module_name} raised "
            f"{type(exc).__name__}; fix the module or import it without side effects"
        ) from None
    model = getattr(module, attr, None)
    if model is None:
        raise InitError(f"--settings {ref!r}: {module_name} has no {attr}")
    fields = getattr(model, "model_fields", None)
    if not isinstance(model, type) or not isinstance(fields, dict):
        raise InitError(
            f"--settings {ref!r}: {attr} is not a pydantic-settings model "
            f"(a BaseSettings class)"
        )
    return model


def _fields(
    model: Any, prefix: str, delimiter: str | None
) -> list[tuple[str, Any, str]]:
    """(field name, FieldInfo, environment name), nested models' leaves expanded."""
    out = []
    for name, field in model.model_fields.items():
        alias = field.validation_alias or field.alias
        choices = getattr(alias, "choices", None)
        if choices:
            alias = next((c for c in choices if isinstance(c, str)), None)
        env = alias if isinstance(alias, str) else f"{prefix}{name}"
        nested = _model_of(field.annotation)
        if nested is not None and delimiter:
            for sub_name, sub_field, sub_env in _fields(nested, "", delimiter):
                out.append((sub_name, sub_field, f"{env}{delimiter}{sub_env}"))
            continue
        out.append((name, field, env))
    return out


def _model_of(annotation: Any) -> Any:
    inner = _strip_optional(annotation)
    fields = getattr(inner, "model_fields", None)
    return inner if isinstance(inner, type) and isinstance(fields, dict) else None


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _type_rules(annotation: Any, name: str) -> Rules:
    inner = _strip_optional(annotation)
    if typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    type_name = getattr(inner, "__name__", str(inner))
    if typing.get_origin(inner) is typing.Literal:
        return {"one_of": [_plain(v) for v in typing.get_args(inner)]}
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return {"one_of": [_plain(m.value) for m in inner]}
    if inner is bool:
        return {"type": "bool"}
    if inner is int:
        return {"type": "int"}
    if type_name in ("SecretStr", "SecretBytes"):
        return {"not_placeholder": True}
    if type_name == "EmailStr":
        return {"type": "email"}
    if type_name in ("HttpUrl", "AnyHttpUrl"):
        return {"url": ["http", "https"]}
    if type_name.endswith(("Url", "Dsn")):
        return {"type": "url"}
    if inner is str and looks_secret(name):
        return {"not_placeholder": True}
    return {}


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, str | int) and not isinstance(value, bool)
        else str(value)
    )


_BOOL_WORDS = frozenset({"true", "false", "yes", "no", "on", "off"})


def from_env_example(path_text: str, *, cwd: Path) -> SettingsPlan:
    """Every name of a ``.env.example``, checked as its example value suggests.

    Raises:
        InitError: the file is not there or is not readable.
    """
    from dotenv import dotenv_values

    path = cwd / path_text
    if not path.is_file():
        raise InitError(
            f"--env-example {path_text!r}: there is no such file ({path.resolve()})"
        )
    try:
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise InitError(f"--env-example {path_text!r}: cannot read it: {exc}") from None
    rules: dict[str, Rules] = {}
    for name, value in values.items():
        rules[name] = _example_rules(name, (value or "").strip())
    # The app reads the real file beside the example: .env.example -> .env
    real = path_text.removesuffix(".example").removesuffix(".sample")
    sources: list[str | dict[str, str]] = ["env"]
    if real != path_text:
        sources.append({"dotenv": real})
    return SettingsPlan(rules=rules, comments={}, sources=sources)


def _example_rules(name: str, example: str) -> Rules:
    rule: Rules = {}
    if example.lower() in _BOOL_WORDS:
        rule["type"] = "bool"
    elif example.isdigit():
        rule["type"] = "int"
    elif "://" in example:
        rule["type"] = "url"
    if looks_secret(name):
        rule["not_placeholder"] = True
    return rule
