"""Reading a target's ``sources:`` list from the config into checked source specs.

Each spec says which kind of settings source, where it reads from and its options;
the other modules of this package look settings up from it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sleuth.errors import ConfigError
from sleuth.suite.validate import PathT, check_keys, did_you_mean, expect_type, kind_of
from sleuth.suite.yamlfile import Lines

# kind -> "module:class"; a source module loads only when a target uses it.
SOURCES = {
    "app": "sleuth.settings.app:AppSource",
    "aws-secrets": "sleuth.settings.aws:SecretsSource",
    "aws-ssm": "sleuth.settings.aws:ParametersSource",
    "dir": "sleuth.settings.directory:DirectorySource",
    "dotenv": "sleuth.settings.dotenv:DotenvSource",
    "env": "sleuth.settings.env:EnvSource",
    "file": "sleuth.settings.files:FileSource",
    "model": "sleuth.settings.model:ModelSource",
}
SOURCE_KINDS = tuple(SOURCES)
_SOURCE_OPTIONS = {
    "app": {"function", "secret"},
    "aws-secrets": {"secret_id", "name", "region", "profile", "endpoint_url"},
    "aws-ssm": {"path", "region", "profile", "endpoint_url"},
    "dir": {"path", "secret"},
    "dotenv": {"path", "secret"},
    "env": {"prefix", "secret"},
    "file": {"path", "format", "secret"},
    "model": {"class", "secret"},
}
# The key that carries a source's location when it is written as a mapping.
_SOURCE_LOCATION = {
    "app": "function",
    "aws-secrets": "secret_id",
    "aws-ssm": "path",
    "dir": "path",
    "dotenv": "path",
    "file": "path",
    "model": "class",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """One place settings are read from, as written in the config."""

    kind: str
    location: str
    options: Mapping[str, Any]
    where: str

    @property
    def is_secret(self) -> bool:
        return bool(self.options.get("secret", self.kind == "dir"))


def files_read(sources: Iterable[SourceSpec], root: Path) -> set[Path]:
    """The files and folders ``file:`` and ``dir:`` sources read (resolved):
    settings, not probe tables."""
    return {
        (root / source.location).resolve()
        for source in sources
        if source.kind in ("file", "dir") and source.location
    }


def env_source_spec(where: str) -> SourceSpec:
    """The process environment: what a target reads when it names no sources."""
    return SourceSpec(kind="env", location="", options={}, where=where)


def build_source_specs(raw: Any, path: PathT, lines: Lines) -> tuple[SourceSpec, ...]:
    """Check a ``sources:`` list and read each entry, in order.

    Raises:
        ConfigError: naming the entry's file and line and what to write instead.
    """
    expect_type(
        raw,
        list,
        path=path,
        lines=lines,
        what="sources",
        example="a list such as [env, {dotenv: .env}, {app: my_app.config:get}]",
    )
    return tuple(
        _build_source_spec(item, (*path, i), lines) for i, item in enumerate(raw)
    )


def _build_source_spec(item: Any, path: PathT, lines: Lines) -> SourceSpec:
    where = lines.where(path)
    if isinstance(item, str):
        kind, value = item, None
    elif isinstance(item, dict) and len(item) >= 1:
        kind = next(iter(item))
        value = item[kind]
        extra = {k: v for k, v in item.items() if k != kind}
        if extra:
            value = {
                **(
                    value
                    if isinstance(value, dict)
                    else {_SOURCE_LOCATION.get(kind, "path"): value}
                ),
                **extra,
            }
    else:
        raise ConfigError(
            f"a source must be a kind such as 'env' or a mapping such as "
            f"{{dotenv: .env}}, found {kind_of(item)}",
            where=where,
        )
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"unknown settings source {kind!r}. "
            f"Known sources: {', '.join(SOURCE_KINDS)}."
            f"{did_you_mean(str(kind), SOURCE_KINDS)}",
            where=where,
        )
    options: dict[str, Any]
    if value is None:
        options = {}
    elif isinstance(value, dict):
        options = dict(value)
        check_keys(
            options,
            _SOURCE_OPTIONS[kind],
            path=(*path, kind),
            lines=lines,
            what=f"the {kind} source",
        )
    elif isinstance(value, str) and kind in _SOURCE_LOCATION:
        options = {_SOURCE_LOCATION[kind]: value}
    else:
        raise ConfigError(
            f"the {kind} source takes {_source_example(kind)}, found {kind_of(value)}",
            where=where,
        )
    location = (
        options.pop(_SOURCE_LOCATION[kind], None) if kind in _SOURCE_LOCATION else ""
    )
    if kind in _SOURCE_LOCATION and (not isinstance(location, str) or not location):
        raise ConfigError(
            f"the {kind} source needs {_source_example(kind)}", where=where
        )
    if kind == "app" and not re.match(r"^[\w.]+:[\w.]+$", location):
        raise ConfigError(
            f"the app source takes 'module:function', e.g. my_app.config:get_setting, "
            f"found {location!r}",
            where=where,
        )
    if kind.startswith("aws-"):
        _check_aws_options(kind, location, options, where)
    if kind == "model" and not re.match(r"^[\w.]+:[\w.]+$", location):
        raise ConfigError(
            f"the model source takes {_source_example(kind)}, found {location!r}",
            where=where,
        )
    return SourceSpec(kind=kind, location=location, options=options, where=where)


def _check_aws_options(
    kind: str, location: str, options: dict[str, Any], where: str
) -> None:
    for key, value in options.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"{key} of the {kind} source must be a text such as "
                f"{_AWS_OPTION_EXAMPLES[key]}, found {kind_of(value)}",
                where=where,
            )
    if kind == "aws-ssm" and not location.startswith("/"):
        raise ConfigError(
            f"the aws-ssm path must start with '/', e.g. /prod/shop/, "
            f"found {location!r}",
            where=where,
        )


_AWS_OPTION_EXAMPLES = {
    "name": "STRIPE_KEY",
    "region": "eu-west-1",
    "profile": "prod-readonly",
    "endpoint_url": "https://secretsmanager.eu-west-1.amazonaws.com",
}


def _source_example(kind: str) -> str:
    return {
        "app": "a function as 'module:function', e.g. my_app.config:get_setting",
        "aws-secrets": "{secret_id: prod/shop, region: eu-west-1}",
        "aws-ssm": "{path: /prod/shop/, region: eu-west-1}",
        "dir": "a directory, e.g. /run/secrets",
        "dotenv": "a file, e.g. .env",
        "env": "no value, or {prefix: APP_}",
        "file": "a file, e.g. config/settings.yaml",
        "model": "a pydantic-settings class as 'module:Class', e.g. "
        "shop_app.settings:Settings",
    }[kind]
