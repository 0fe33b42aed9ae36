"""The ``target`` fixture: the system under investigation, one object per run.

Helpers hang off it and are built when first used, so a suite that only reads
settings never loads an HTTP stack. It is safe to use from many threads.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sleuth._evidence import SettingLookup
from sleuth.engine import context as _context, imports
from sleuth.errors import ConfigError, SleuthError
from sleuth.redact import Secret, SecretRegistry
from sleuth.settings import SettingSource, SettingsResolver, build_source
from sleuth.suite.interpolation import substitute
from sleuth.suite.options import RunOptions
from sleuth.suite.validate import did_you_mean

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is Python 3.12+

    from sleuth.engine import Engine
    from sleuth.http.client import AsyncHttpClient
    from sleuth.http.sync import HttpClient
    from sleuth.http.worker import WorkerHandle
    from sleuth.probes.amqp import AmqpProbe, AmqpProbeOptions
    from sleuth.probes.dns import DnsProbe, DnsProbeOptions
    from sleuth.probes.mqtt import MqttProbe, MqttProbeOptions
    from sleuth.probes.mysql import MysqlProbe, MysqlProbeOptions
    from sleuth.probes.nats import NatsProbe, NatsProbeOptions
    from sleuth.probes.postgres import PostgresProbe, PostgresProbeOptions
    from sleuth.probes.redis import RedisProbe, RedisProbeOptions
    from sleuth.probes.tcp import TcpProbe, TcpProbeOptions
    from sleuth.probes.tls import TlsProbe, TlsProbeOptions


def _built(build: Callable[[Target], T]) -> Callable[[Target], T]:
    """For a helper built on first use: an AttributeError raised while building
    it would make Python fall back to ``__getattr__``, which would then claim the
    helper does not exist. Say what really happened instead."""

    @functools.wraps(build)
    def checked(target: Target) -> T:
        try:
            return build(target)
        except AttributeError as exc:
            what = f"{type(exc).__name__}: {exc}"
            raise SleuthError(
                f"target.{build.__name__} could not be built: {what}"
            ) from exc

    return checked


class Target:
    """What probes ask questions of: ``target.http``, ``target.setting(name)``."""

    def __init__(
        self,
        options: RunOptions,
        engine: Engine,
        *,
        secrets: SecretRegistry | None = None,
        http_worker: WorkerHandle | None = None,
    ) -> None:
        self._options = options
        self._http_worker = http_worker  # the session's; claimed by target.ahttp
        self._config = options.target
        self._engine = engine
        self._secrets = secrets if secrets is not None else SecretRegistry()
        self._lock = threading.Lock()
        self._headers: Mapping[str, str] | None = None
        self._http_ready = threading.Event()  # see expect_http, prepare_http
        self._http_ready.set()
        if self._config.base_url:
            self._secrets.add_urls_in(self._config.base_url)

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def base_url(self) -> str | None:
        return self._config.base_url

    def __repr__(self) -> str:
        return f"<Target {self.name!r} {self.base_url or '(no base_url)'}>"

    # -- settings -----------------------------------------------------------

    @functools.cached_property
    @_built
    def settings(self) -> SettingsResolver:
        root = self._options.suite.root
        return SettingsResolver(
            [build_source(spec, root=root) for spec in self._config.sources],
            on_value=self._seen_value,
        )

    def _seen_value(self, name: str, value: Any, source: SettingSource) -> None:
        if name in self._options.suite.not_secret:
            self._secrets.add_urls_in(str(value))
        else:
            self._secrets.add_setting(name, value, secret_source=source.is_secret)

    def register_known_secrets(self) -> None:
        """Register, before tests are collected, the secrets sources can list:
        secret-named settings, secret sources' values, passwords in URLs. A
        secret used as a parametrize value is then masked in the test id."""
        for source in self.settings.sources:
            try:
                names = list(source.names())
                for name in names:
                    found = source.lookup(name)
                    if found.secret:  # a SecretStr field, whatever its source
                        self.settings.tell(name, found.value, source, secret=True)
                    elif found.value is not None:
                        self._seen_value(name, found.value, source)
            except Exception:  # noqa: S112 (a broken source is reported when used)
                continue

    def setting(self, name: str) -> Any:
        """The value of setting ``name`` from the first source that has it, or None.

        Where it was looked for is recorded on the probe and shown if it fails.
        """
        return self.explain_setting(name)[0]

    def check_setting(
        self,
        name: str,
        *,
        required: bool = True,
        non_empty: bool = False,
        matches: str | re.Pattern[str] | None = None,
        one_of: Sequence[object] | None = None,
        url: bool | Sequence[str] = False,
        not_placeholder: bool = False,
        max_age: str | float | datetime.timedelta | None = None,
    ) -> Any:
        """The value of setting ``name`` once it passes the checks a
        ``settings:`` table row has; ``CheckFailed`` naming the setting and
        the failed checks (never the value) otherwise. ``required=False``:
        None when it is absent, checked when it is there. ``max_age`` ("90d",
        a number of days or a timedelta): changed within it, as its source
        (a secrets manager) says."""
        __tracebackhide__ = True
        from sleuth.settings.checks import SettingChecks
        from sleuth.settings.rules import SettingRule

        checks = SettingChecks.build(
            non_empty=non_empty,
            matches=matches,
            one_of=one_of,
            url=url,
            not_placeholder=not_placeholder,
            max_age=max_age,
        )
        return SettingRule(name=name, required=required, checks=checks).check(self)

    def explain_setting(self, name: str) -> tuple[Any, SettingLookup]:
        """The value and the full story: every source's answer, close names."""
        ctx = _context.current.get()
        if ctx is not None:
            with ctx.waiting_on(f"the settings sources for {name}"):
                value, lookup = self.settings.lookup(name)
            ctx.record_setting(lookup)
        else:
            value, lookup = self.settings.lookup(name)
        if isinstance(value, str) and self._secrets.is_secret(value):
            value = Secret(value)  # its repr is masked wherever pytest shows it
        return value, lookup

    # -- HTTP ---------------------------------------------------------------

    def expect_http(self) -> None:
        """Make ``http``/``ahttp`` wait until ``prepare_http`` has run."""
        self._http_ready.clear()

    def prepare_http(self) -> None:
        """Load the HTTP stack on the calling (main) thread, then let probes in.

        Probes starting at once would otherwise import it on many threads
        together, and CPython 3.11 can then hand a thread a module that is
        still being initialised (a concurrent circular import): seen as a
        probe's ``target.http`` failing once in a run. Called after the probes
        have started, so the loading overlaps what they wait on.
        """
        try:
            with imports.LOCK:  # see sleuth.engine.imports
                worker = self._http_worker
                if worker is not None and worker.available:
                    import multidict  # noqa: F401 (the worker has aiohttp)
                else:
                    import aiohttp  # noqa: F401

                from sleuth.http import (
                    sync as http_sync,  # noqa: F401
                )

            _ = self._engine.loop
        finally:
            self._http_ready.set()

    @functools.cached_property
    @_built
    def ahttp(self) -> AsyncHttpClient:
        """HTTP for ``async def`` probes: ``await target.ahttp.get(path)``."""
        self._http_ready.wait()
        from sleuth.http.client import AsyncHttpClient, HttpSettings

        config = self._config
        timeout_origin = (
            f"target {config.name!r} in {self._options.suite.display}"
            if config.timeout_s is not None
            else self._options.timeout_origin
        )
        settings = HttpSettings(
            base_url=config.base_url,
            headers=self._resolved_headers,
            timeout_s=config.timeout_s,
            timeout_origin=f"timeout from {timeout_origin}",
            default_timeout_s=self._options.timeout_s,
            target_name=config.name,
            tls=config.tls,
            root=self._options.suite.root,
            **{
                k: v
                for k, v in dataclasses.asdict(config.http).items()
                if v is not None
            },
        )
        return AsyncHttpClient(settings, self._engine, http_worker=self._http_worker)

    @functools.cached_property
    @_built
    def http(self) -> HttpClient:
        """HTTP for ``def`` probes: ``target.http.get(path).status_code``."""
        self._http_ready.wait()
        from sleuth.http.sync import HttpClient

        return HttpClient(self.ahttp, self._engine, self._options.timeout_s)

    # -- dependencies ---------------------------------------------------------

    # One typed method per kind, so that an editor completes the options and
    # mypy checks them; each checks its options at run time as before (an
    # unknown one is a ConfigError naming the valid ones). ``name`` is a
    # service under ``services: KIND:`` in the target's config.

    def amqp(
        self, name: str | None = None, /, **options: Unpack[AmqpProbeOptions]
    ) -> AmqpProbe:
        """``target.amqp(url=..., queue="orders").check(max_queue_depth=100)``."""
        helper: AmqpProbe = self.dependency("amqp", name, **options)
        return helper

    def dns(
        self, name: str | None = None, /, **options: Unpack[DnsProbeOptions]
    ) -> DnsProbe:
        """``target.dns(name="api.example.com").check()``."""
        helper: DnsProbe = self.dependency("dns", name, **options)
        return helper

    def mqtt(
        self, name: str | None = None, /, **options: Unpack[MqttProbeOptions]
    ) -> MqttProbe:
        """``target.mqtt("broker").check()``."""
        helper: MqttProbe = self.dependency("mqtt", name, **options)
        return helper

    def mysql(
        self, name: str | None = None, /, **options: Unpack[MysqlProbeOptions]
    ) -> MysqlProbe:
        """``target.mysql("shop").check(role="primary")``."""
        helper: MysqlProbe = self.dependency("mysql", name, **options)
        return helper

    def nats(
        self, name: str | None = None, /, **options: Unpack[NatsProbeOptions]
    ) -> NatsProbe:
        """``target.nats(url="nats://nats-1:4222").check()``."""
        helper: NatsProbe = self.dependency("nats", name, **options)
        return helper

    def postgres(
        self, name: str | None = None, /, **options: Unpack[PostgresProbeOptions]
    ) -> PostgresProbe:
        """``target.postgres("orders").check(max_replication_lag="5s")``."""
        helper: PostgresProbe = self.dependency("postgres", name, **options)
        return helper

    def redis(
        self, name: str | None = None, /, **options: Unpack[RedisProbeOptions]
    ) -> RedisProbe:
        """``target.redis(url="redis://cache-1:6379").check()``."""
        helper: RedisProbe = self.dependency("redis", name, **options)
        return helper

    def tcp(
        self, name: str | None = None, /, **options: Unpack[TcpProbeOptions]
    ) -> TcpProbe:
        """``target.tcp(host="db-1", port=5432).check()``."""
        helper: TcpProbe = self.dependency("tcp", name, **options)
        return helper

    def tls(
        self, name: str | None = None, /, **options: Unpack[TlsProbeOptions]
    ) -> TlsProbe:
        """``target.tls(host="api.example.com").check(min_days_left=14)``."""
        helper: TlsProbe = self.dependency("tls", name, **options)
        return helper

    # Hidden from type checkers: seen, it would let ``target.postgress`` pass.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only for a name Target lacks (each kind has its method above).
            from sleuth.probes import KINDS

            raise AttributeError(
                f"'Target' has no attribute {name!r}. Dependency helpers: "
                f"{', '.join(sorted(KINDS)) or 'none'}.{did_you_mean(name, KINDS)}"
            )

    def dependency(self, kind: str, name: str | None = None, /, **options: Any) -> Any:
        """The ``kind`` helper for the service ``name`` in the config, or for
        the address in ``options`` (``dsn=``, ``url=``, ``host=``...)."""
        from sleuth.probes import ProbeEnv, load_kind

        env = ProbeEnv(
            engine=self._engine,
            target=self._config,
            default_timeout_s=self._options.timeout_s,
            suite_display=self._options.suite.display,
            interpolate=self._interpolate_settings,
        )
        return load_kind(kind)(env, name, **options)

    def interpolate(self, text: str, *, where: str) -> str:
        """``text`` with every ``${setting:NAME}`` replaced by its value.

        Raises:
            ConfigError: when a setting has no value, saying where it was looked for.
        """
        return self._interpolate_settings(text, where)

    def _interpolate_settings(self, text: str, where: str) -> str:
        return substitute(text, {"setting": self._setting_for_reference}, where=where)

    def _resolved_headers(self) -> Mapping[str, str]:
        with self._lock:
            if self._headers is None:
                headers = {}
                for key, template in self._config.headers.items():

                    def filled(
                        kind: str, name: str, value: str, key: str = key
                    ) -> None:
                        self._secrets.add(value, name=key)  # filled in: a credential

                    headers[key] = substitute(
                        template,
                        {"env": os.environ.get, "setting": self._setting_for_reference},
                        where=f"header {key!r} of {self._config.where}",
                        on_value=filled,
                    )
                    self._secrets.add_header(key, headers[key])
                self._headers = headers
            return self._headers

    def _setting_for_reference(self, name: str) -> str:
        value, lookup = self.settings.lookup(name)
        if lookup.is_missing:
            raise ConfigError(
                f"${{setting:{name}}} has no value. {lookup.describe()}",
                where=self._config.where,
            )
        return str(value)
