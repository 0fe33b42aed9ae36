"""Settings from AWS Secrets Manager and SSM Parameter Store, through boto3.

    - aws-secrets: {secret_id: prod/shop, region: eu-west-1}    # JSON: each key
    - aws-secrets: {secret_id: prod/shop/stripe, name: STRIPE_KEY}  # plain: one
    - aws-ssm: {path: /prod/shop/, region: eu-west-1}           # all under a path

Credentials, region and endpoint come the standard AWS way (a profile, the
environment, ``AWS_ENDPOINT_URL``, an instance role); the ``region``,
``profile`` and ``endpoint_url`` options override. boto3 is imported when the
first setting is looked up, never when the plugin loads.

Each source is fetched once per run, started by the first lookup on a thread
of its own, within that probe's time left (botocore's connect and read
timeouts and its one retry share it). Every lookup, the first too, waits for
the fetch only until its own deadline; a fetch that outlasts the first probe
still serves the lookups after it. Every later lookup answers from what was
fetched, so asking one for every name is cheap. What the fetch ended with, an
error included, is the answer for the whole run. Every value is a secret.
Each answer carries the value's version and when it last changed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from sleuth import _timing as timing
from sleuth.engine import context as _context, imports
from sleuth.settings import Found
from sleuth.settings.awserrors import ATTEMPTS, describe_error
from sleuth.suite.sources import SourceSpec

# The time a fetch has when no probe is running (a ${setting:...} in the config).
DEFAULT_TIMEOUT_S = 5.0
# The least a botocore attempt is given, however little time the probe has left.
MIN_ATTEMPT_S = 0.1
# SSM hands out parameters ten at a time: at most this many pages a run.
MAX_SSM_PAGES = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class _Item:
    value: Any
    version: str
    changed_at: datetime.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Fetched:
    """What one fetch got: the settings by name, or why there are none."""

    items: Mapping[str, _Item] = dataclasses.field(default_factory=dict)
    error: str = ""
    # Said of a name the source does not hold ("not a key of the secret").
    absent: str = ""
    # A whole secret's version, said of absent names too: a key that vanished
    # in a version made 14 minutes ago is the clue.
    version: str = ""
    changed_at: datetime.datetime | None = None
    # The source holds nothing at all (no parameter under the path): a likely
    # root cause for every setting it was to hold, as a missing dotenv file is.
    holds_nothing: bool = False


class _Once:
    """One fetch shared by every lookup of a run, whichever thread asks first.

    The fetch runs on a thread of its own, bounded by the first asker's time
    left; every asker, the first too, waits for it until its own deadline. So
    a lookup never outlasts its probe, whatever botocore's setup, retries and
    backoff take, and a fetch that ends later still serves the lookups after.
    """

    def __init__(self, fetch: Callable[[float], _Fetched], name: str) -> None:
        self._fetch = fetch
        self._name = name
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = False
        self._result: _Fetched | None = None

    def peek(self) -> _Fetched | None:
        return self._result if self._done.is_set() else None

    def get(self, what: str) -> _Fetched:
        ctx = _context.current.get()
        time_left = DEFAULT_TIMEOUT_S if ctx is None else max(ctx.remaining(), 0.0)
        with self._lock:
            first = not self._started
            self._started = True
        if first:
            deadline = timing.monotonic() + time_left
            threading.Thread(
                target=self._run, args=(deadline,), name=self._name, daemon=True
            ).start()
        if not self._done.wait(time_left):
            waited = (
                ctx.timeout_message(waiting_on=what)
                if ctx is not None
                else f"timed out after {time_left:.1f} s waiting for {what}"
            )
            return _Fetched(
                error=waited if first else f"{waited}, fetched by another probe"
            )
        assert self._result is not None  # noqa: S101 (set before _done)
        return self._result

    def _run(self, deadline: float) -> None:
        try:
            self._result = self._fetch(deadline)
        finally:
            if self._result is None:  # the fetch itself raised: say so once
                self._result = _Fetched(error="the fetch failed unexpectedly")
            self._done.set()


class _AwsSource:
    """What both sources share: options, the client, the fetch, the answers."""

    service: ClassVar[str]  # boto3's name: "secretsmanager", "ssm"
    service_words: ClassVar[str]  # "AWS Secrets Manager"
    action: ClassVar[str]  # the IAM action a fetch needs

    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        self.is_secret = True
        self.where = spec.where
        self.location = spec.location
        self.region: str | None = spec.options.get("region")
        self.profile: str | None = spec.options.get("profile")
        self.endpoint_url: str | None = spec.options.get("endpoint_url")
        in_region = f" ({self.region})" if self.region else ""
        self.label = f"{spec.kind} {spec.location}{in_region}"
        self._once = _Once(self._fetch, name=f"{FETCH_THREAD_PREFIX}{self.label}")

    def lookup(self, name: str) -> Found:
        fetched = self._once.get(f"{self.service_words} for {self.label}")
        if fetched.error:
            return Found("error", detail=fetched.error, broken=fetched.error)
        item = fetched.items.get(name)
        if item is None:
            absent = self._absent(name, fetched)
            return Found(
                "absent",
                detail=absent,
                broken=absent if fetched.holds_nothing else "",
                version=fetched.version,
                changed_at=fetched.changed_at,
            )
        found = Found.of(item.value)
        return dataclasses.replace(
            found, version=item.version, changed_at=item.changed_at
        )

    def names(self) -> Iterable[str]:
        # Never fetches: listing names is asked at startup, outside any probe.
        fetched = self._once.peek()
        return list(fetched.items) if fetched is not None else []

    def _fetch(self, deadline: float) -> _Fetched:
        from sleuth.clients import _guard

        client: Any = None
        attempt_s = MIN_ATTEMPT_S
        try:
            # sleuth's own requests: not the probe's, so no hook holds them to
            # the read-only rule (every AWS API call is a POST).
            with _guard.own():
                boto3, config = _load_boto3()
                # What is left once boto3 is loaded, shared by the attempts.
                time_left = deadline - timing.monotonic()
                attempt_s = max(time_left / ATTEMPTS, MIN_ATTEMPT_S)
                session = boto3.session.Session(
                    profile_name=self.profile, region_name=self.region
                )
                client = session.client(
                    self.service,
                    endpoint_url=self.endpoint_url,
                    config=config.Config(
                        connect_timeout=attempt_s,
                        read_timeout=attempt_s,
                        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
                    ),
                )
                return self._read(client, deadline)
        except Exception as exc:
            endpoint = client.meta.endpoint_url if client is not None else None
            return _Fetched(
                error=describe_error(
                    exc,
                    source=self,
                    endpoint=endpoint or self.endpoint_url,
                    attempt_s=attempt_s,
                )
            )
        finally:
            if client is not None:
                client.close()

    def _read(self, client: Any, deadline: float) -> _Fetched:
        raise NotImplementedError

    def _absent(self, name: str, fetched: _Fetched) -> str:
        return fetched.absent


class _NoBoto3(Exception):
    """boto3 is not installed (said with the pip hint by describe_error)."""


def _load_boto3() -> tuple[Any, Any]:
    try:
        modules = imports.load("boto3"), imports.load("botocore.config")
    except ImportError:
        raise _NoBoto3 from None
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietFetches) for f in logger.filters):
            logger.addFilter(_QuietFetches())
    return modules


# botocore logs each answer's body at DEBUG ("Response body: b'{SecretString:
# ...}'"), before sleuth has the value and can mask it: with --log-cli-level=DEBUG
# the canary matrix saw the secrets on screen and in --log-file.
_CHATTY_LOGGERS = (
    "botocore.parsers",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.retryhandler",
    "urllib3.connectionpool",
)
FETCH_THREAD_PREFIX = "sleuth fetch "


class _QuietFetches(logging.Filter):
    """Drops what botocore logs on sleuth's fetch threads, and nothing else:
    the app's own boto3 calls log as they always do."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName or "").startswith(FETCH_THREAD_PREFIX)


class SecretsSource(_AwsSource):
    """``aws-secrets``: a JSON secret (each key a setting) or a ``name``d one."""

    service = "secretsmanager"
    service_words = "AWS Secrets Manager"
    action = "secretsmanager:GetSecretValue"

    def __init__(self, spec: SourceSpec, *, root: Path) -> None:
        super().__init__(spec, root=root)
        self.name: str | None = spec.options.get("name")

    def _read(self, client: Any, deadline: float) -> _Fetched:
        answer = client.get_secret_value(SecretId=self.location)
        version = str(answer.get("VersionId", ""))
        changed_at = answer.get("CreatedDate")  # of this version: the value's
        if self.name is not None:
            value = answer.get("SecretString", answer.get("SecretBinary"))
            return _Fetched(
                items={self.name: _Item(value, version, changed_at)},
                absent=f"it holds only {self.name}",
            )
        text = answer.get("SecretString")
        try:
            settings = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            # Never the parser's words: they may quote a piece of the value.
            return _Fetched(
                error=f"is not a JSON object of settings (version {version}). "
                f"For a plain secret, name the setting it holds: "
                f"{{secret_id: {self.location}, name: STRIPE_KEY}}"
            )
        return _Fetched(
            items={
                str(key): _Item(_setting_value(value), version, changed_at)
                for key, value in settings.items()
            },
            absent="not a key of the secret",
            version=version,
            changed_at=changed_at,
        )


class ParametersSource(_AwsSource):
    """``aws-ssm``: every parameter under a path, named by the rest of its path."""

    service = "ssm"
    service_words = "AWS SSM Parameter Store"
    action = "ssm:GetParametersByPath"

    def _read(self, client: Any, deadline: float) -> _Fetched:
        path = self.location.rstrip("/") or "/"
        prefix = path if path.endswith("/") else path + "/"
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=True, WithDecryption=True
        )
        items: dict[str, _Item] = {}
        for count, page in enumerate(pages, start=1):
            for parameter in page.get("Parameters", []):
                name = str(parameter["Name"])
                items[name.removeprefix(prefix)] = _Item(
                    parameter.get("Value"),
                    str(parameter.get("Version", "")),
                    parameter.get("LastModifiedDate"),
                )
            more = bool(page.get("NextToken"))
            if more and (timing.monotonic() > deadline or count >= MAX_SSM_PAGES):
                read = f"{len(items)} parameters read in {count} pages"
                return _Fetched(
                    error=f"timed out: {read} before the deadline, and more "
                    f"remain under {path}"
                    if count < MAX_SSM_PAGES
                    else f"too many parameters: {read}, and more remain under "
                    f"{path}. Give a narrower path"
                )
        if not items:
            return _Fetched(absent=f"no parameters under {path}", holds_nothing=True)
        return _Fetched(items=items)

    def _absent(self, name: str, fetched: _Fetched) -> str:
        if fetched.absent:
            return fetched.absent
        prefix = self.location.rstrip("/") + "/"
        return f"no parameter {prefix}{name} among {len(fetched.items)} under it"


def _setting_value(value: Any) -> Any:
    # A nested object or list is a setting's value as JSON text, as the app
    # would see it after json.dumps; scalars stay what they are.
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value
