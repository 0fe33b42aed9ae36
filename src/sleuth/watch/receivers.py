"""The receivers of ``alerts:``, their URLs filled in: where a watch sends.

A URL may hold ``${setting:NAME}``, read once when the watch starts from the
sources of the target the watch runs, and ``${env:NAME}``. Every filled URL,
and its path and query on their own, is a secret from then on: a Slack or
webhook token is there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sleuth import redact
from sleuth.errors import ConfigError
from sleuth.suite.alerts import AlertsConfig, ReceiverConfig, check_receiver_url
from sleuth.suite.interpolation import substitute
from sleuth.watch.delivery import shown_url

if TYPE_CHECKING:
    from sleuth.suite.config import SuiteConfig, TargetConfig

# A URL's path or query at least this long is masked on its own as well
# (``/api/v2/alerts`` is not a secret; a token's path is longer).
_MIN_SECRET_PART = 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Receiver:
    """A receiver with its URL filled in (a secret)."""

    kind: str
    url: str
    timeout_s: float

    def __repr__(self) -> str:
        return f"Receiver(kind={self.kind!r}, to={shown_url(self.url)!r})"

    @property
    def endpoint(self) -> str:
        """Where its alerts are POSTed (Alertmanager's API under its URL)."""
        if self.kind == "alertmanager":
            return self.url.rstrip("/") + "/api/v2/alerts"
        return self.url


def receivers_of(
    suite: SuiteConfig,
    config: AlertsConfig,
    target: str | None,
    environ: dict[str, str] | None,
) -> tuple[str, list[Receiver], redact.SecretRegistry]:
    """The target the URLs are filled from, the receivers, and the secrets
    they hold (their URLs, and the settings read for them).

    Raises:
        ConfigError: an unknown target, a URL's setting with no value, or
            ``${setting:...}`` in a URL with no target to read it from.
    """
    if target is None:
        target = _default_target(suite, config)
    if target not in suite.targets:
        from sleuth.suite.config import unknown_target_message

        raise ConfigError(
            unknown_target_message(target, suite.targets), where="--target"
        )
    secrets = redact.SecretRegistry(
        secret_words=(*redact.DEFAULT_SECRET_WORDS, *suite.secret_words)
    )
    fill = _filler(suite, suite.targets[target], secrets, environ)
    return target, [_filled(r, fill, secrets) for r in config.receivers], secrets


def _default_target(suite: SuiteConfig, config: AlertsConfig) -> str:
    if suite.default_target is not None:
        return suite.default_target
    names = sorted(suite.targets)
    if len(names) == 1 or not any("${setting:" in r.url for r in config.receivers):
        return names[0]
    raise ConfigError(
        "a receiver's url reads ${setting:...}, and the suite has several "
        f"targets ({', '.join(names)}): name the one whose settings hold it "
        "(--target), or set default_target:",
        where=config.where,
    )


def _filler(
    suite: SuiteConfig,
    target: TargetConfig,
    secrets: redact.SecretRegistry,
    environ: dict[str, str] | None,
) -> Callable[[str, str], str]:
    resolver = None

    def setting(name: str, where: str) -> str:
        nonlocal resolver
        if resolver is None:
            from sleuth.settings import SettingsResolver, build_source

            resolver = SettingsResolver(
                [build_source(spec, root=suite.root) for spec in target.sources]
            )
        value, lookup = resolver.lookup(name)
        if lookup.is_missing:
            raise ConfigError(
                f"${{setting:{name}}} has no value for target {target.name!r}. "
                f"{lookup.describe()}",
                where=where,
            )
        secrets.add(str(value), name=name)
        return str(value)

    env = os.environ if environ is None else environ

    def fill(text: str, where: str) -> str:
        if "${" not in text:
            return text
        return substitute(
            text,
            {"setting": lambda name: setting(name, where), "env": env.get},
            where=where,
        )

    return fill


def _filled(
    receiver: ReceiverConfig,
    fill: Callable[[str, str], str],
    secrets: redact.SecretRegistry,
) -> Receiver:
    url = fill(receiver.url, receiver.where)
    check_receiver_url(url, kind=receiver.kind, where=receiver.where)
    secrets.add(url)
    # The path and query too: a Slack or webhook token is there, and may
    # show up in a text without the host before it.
    parts = urlsplit(url)
    for part in (parts.path.strip("/"), parts.query):
        if len(part) >= _MIN_SECRET_PART:
            secrets.add(part)
    return Receiver(kind=receiver.kind, url=url, timeout_s=receiver.timeout_s)
