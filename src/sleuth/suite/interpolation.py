"""``${env:NAME}`` and ``${setting:NAME}`` references in config values.

``${env:...}`` is replaced when a config is read; ``${setting:...}`` when a
value is first needed, from the target's settings sources. Either may carry a
default: ``${env:NAME:-value}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sleuth.errors import ConfigError
from sleuth.suite.validate import PathT, did_you_mean
from sleuth.suite.yamlfile import Lines

if TYPE_CHECKING:
    from types import TracebackType

    from sleuth.redact import SecretRegistry

_REFERENCE = re.compile(
    r"\$\{(?P<kind>[a-zA-Z_]+):(?P<name>[^}:]+)(?::-(?P<default>[^}]*))?\}"
)
# What starts like a reference (``${env:``, ``${:``): one that is not whole
# is a mistake to report, not text to pass on as it is.
_STARTED = re.compile(r"\$\{\s*[A-Za-z_]*\s*:")
# A message quoting a value longer than this is cut in the middle: one line
# of a screen, not a megabyte of a runaway value.
MAX_MESSAGE_CHARS = 500
OnValue = Callable[[str, str, str], None]
BUG_WORDS = "sleuth failed (a bug in sleuth, not in the file)"


def interpolate_env(
    value: Any,
    path: PathT,
    lines: Lines,
    environ: Mapping[str, str],
    *,
    on_value: OnValue | None = None,
) -> Any:
    """``value`` with ``${env:NAME}`` replaced everywhere (``${setting:...}`` kept).

    ``on_value(kind, name, value)`` hears of each value filled in.
    """
    if isinstance(value, dict):
        return {
            k: interpolate_env(v, (*path, str(k)), lines, environ, on_value=on_value)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate_env(v, (*path, i), lines, environ, on_value=on_value)
            for i, v in enumerate(value)
        ]
    if isinstance(value, str) and "${" in value:
        resolved = substitute(
            value,
            {"env": lambda name: environ.get(name)},
            where=lines.where(path),
            keep={"setting"},
            on_value=on_value,
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

    Kinds in ``keep`` are left for later; unknown kinds, missing values and
    references begun but not finished (``${env:}``, ``${env:NAME``) fail.
    """
    kept = set(keep)
    _check_whole(text, where)

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


def _check_whole(text: str, where: str) -> None:
    for started in _STARTED.finditer(text):
        if not _REFERENCE.match(text, started.start()):
            shown = text[started.start() : started.start() + 40]
            raise ConfigError(
                f"{shown!r} is not a whole reference: write ${{env:NAME}}, "
                f"${{env:NAME:-default}} or ${{setting:NAME}}",
                where=where,
            )


class FilledIn:
    """While one file is read: the ``${env:...}`` values filled in, and its errors.

    Errors about the file may quote a value that held one (``invalid timeout
    '...'``): leaving the ``with`` block, they come out with the values of
    secret-looking variables, and passwords in URLs, masked as every other
    output is, and on one line. Pass the object as ``on_value``.

    Anything but a ``ConfigError`` is a bug in sleuth: the net in ``__exit__``
    makes it one line too (exit 4, nothing run), keeping the exception as the
    cause. The fuzz test fails on its words, so no bug hides behind it.
    """

    def __init__(self, display: str) -> None:
        from sleuth.redact import SecretRegistry

        self.display = display
        self._secrets: SecretRegistry = SecretRegistry()

    def __call__(self, kind: str, name: str, value: str) -> None:
        self._secrets.add_setting(name, value)

    def __enter__(self) -> FilledIn:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, ConfigError):
            raise self.masked(exc) from None
        if isinstance(exc, Exception):
            bug = ConfigError(
                f"{BUG_WORDS} while reading this file ({type(exc).__name__}: "
                f"{exc}). Please report it, with the file",
                where=self.display,
            )
            raise self.masked(bug) from exc

    def masked(self, exc: ConfigError) -> ConfigError:
        """``exc`` as one line, with the secrets filled in masked."""
        message = " ".join(self._secrets.scrub(str(exc)).splitlines())
        if len(message) > MAX_MESSAGE_CHARS:
            cut = len(message) - MAX_MESSAGE_CHARS
            message = (
                f"{message[: MAX_MESSAGE_CHARS - 150]} [... {cut:,} characters "
                f"cut ...] {message[-150:]}"
            )
        masked = ConfigError(message)
        masked.where = exc.where
        return masked


def _missing_hint(kind: str, name: str) -> str:
    if kind == "env":
        return (
            f"the environment variable {name} is not set. Set it, or give a "
            f"default: ${{env:{name}:-value}}"
        )
    return f"no settings source has {name}. Check the target's sources:"
