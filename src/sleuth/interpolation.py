"""``${env:NAME}`` and ``${setting:NAME}`` references in config values.

``${env:...}`` is replaced when a config is read; ``${setting:...}`` when a
value is first needed, from the target's settings sources. Either may carry a
default: ``${env:NAME:-value}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sleuth.errors import ConfigError
from sleuth.validate import PathT, did_you_mean
from sleuth.yamlfile import Lines

_REFERENCE = re.compile(
    r"\$\{(?P<kind>[a-zA-Z_]+):(?P<name>[^}:]+)(?::-(?P<default>[^}]*))?\}"
)


def interpolate_env(
    value: Any, path: PathT, lines: Lines, environ: Mapping[str, str]
) -> Any:
    """``value`` with ``${env:NAME}`` replaced everywhere (``${setting:...}`` kept)."""
    if isinstance(value, dict):
        return {
            k: interpolate_env(v, (*path, str(k)), lines, environ)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate_env(v, (*path, i), lines, environ) for i, v in enumerate(value)
        ]
    if isinstance(value, str) and "${" in value:
        resolved = substitute(
            value,
            {"env": lambda name: environ.get(name)},
            where=lines.where(path),
            keep={"setting"},
        )
        # Header values stay templates: the target fills them in when it first
        # sends a request, and treats every value filled in as a secret. They
        # are checked now all the same, so a missing variable is found at once.
        return value if "headers" in path else resolved
    return value


def substitute(
    text: str,
    resolvers: Mapping[str, Callable[[str], str | None]],
    *,
    where: str,
    keep: Iterable[str] = (),
    on_value: Callable[[str, str, str], None] | None = None,
) -> str:
    """Replace ``${kind:NAME}`` (and ``${kind:NAME:-default}``) references.

    Kinds in ``keep`` are left for later; unknown kinds and missing values fail.
    """
    kept = set(keep)

    def replace(match: re.Match[str]) -> str:
        kind, name, default = (
            match.group("kind"),
            match.group("name"),
            match.group("default"),
        )
        if kind in kept:
            return match.group(0)
        if kind not in resolvers:
            known = ", ".join(sorted({*resolvers, *kept}))
            raise ConfigError(
                f"unknown reference ${{{kind}:...}} in {text!r}. "
                f"Known kinds: {known}.{did_you_mean(kind, [*resolvers, *kept])}",
                where=where,
            )
        found = resolvers[kind](name)
        if found is not None and on_value is not None:
            on_value(kind, name, str(found))
        if found is None:
            if default is not None:
                return default
            raise ConfigError(
                f"${{{kind}:{name}}} has no value: {_missing_hint(kind, name)}",
                where=where,
            )
        return str(found)

    return _REFERENCE.sub(replace, text)


def _missing_hint(kind: str, name: str) -> str:
    if kind == "env":
        return (
            f"the environment variable {name} is not set. Set it, or give a "
            f"default: ${{env:{name}:-value}}"
        )
    return f"no settings source has {name}. Check the target's sources:"
