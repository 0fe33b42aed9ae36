"""The plumbing the dependency helpers share, and the contract each one keeps."""

from __future__ import annotations

import errno
import socket
import ssl
import sys
from collections.abc import Iterator

import pytest

from sleuth import redact
from sleuth.engine import Engine
from sleuth.errors import ConfigError, MissingDriver
from sleuth.probes import KINDS, ProbeEnv, load_kind
from sleuth.probes._dependency import helper_options, load, translate_os_error
from sleuth.suite.config import TargetConfig
from tests.conftest import packages_loaded_by

NET_KINDS: dict[str, tuple[str, str, dict[str, object]]] = {
    # kind: (driver module blocked to test MissingDriver, package, options)
    "amqp": ("aiormq", "aiormq", {"url": "amqp://guest:guest@127.0.0.1:1/"}),
    "dns": ("dns", "dnspython", {"name": "x.test", "server": "127.0.0.1"}),
    "mqtt": ("aiomqtt", "aiomqtt", {"url": "mqtt://127.0.0.1:1"}),
    "nats": ("nats", "nats-py", {"url": "nats://127.0.0.1:1"}),
    "tls": ("cryptography", "cryptography", {"host": "127.0.0.1", "port": 1}),
}


@pytest.fixture
def env() -> Iterator[ProbeEnv]:
    engine = Engine(workers=2)
    target = TargetConfig(
        name="prod",
        services={"amqp": {"events": {"url": "amqp://u:p@broker/", "queu": "x"}}},
        where="sleuth.yaml line 2",
    )
    yield ProbeEnv(
        engine=engine,
        target=target,
        default_timeout_s=2.0,
        suite_display="sleuth.yaml",
        interpolate=lambda text, where: text.replace("${setting:HOST}", "db-1"),
    )
    engine.close()


@pytest.mark.parametrize("kind", [*NET_KINDS, "tcp"])
def test_each_kind_keeps_the_table_contract(kind: str):
    helper = load_kind(kind)
    assert helper.kind == kind  # type: ignore[attr-defined]
    for keys in ("address_keys", "check_keys"):
        value = getattr(helper, keys)
        assert isinstance(value, frozenset)
        assert value
        assert all(isinstance(key, str) for key in value)
    assert callable(helper.check)  # type: ignore[attr-defined]
    assert callable(helper.acheck)  # type: ignore[attr-defined]
    assert KINDS[kind].startswith(f"sleuth.probes.{kind}:")


def test_importing_the_helpers_loads_no_driver():
    loaded = packages_loaded_by(
        "import sleuth.probes.amqp, sleuth.probes.nats, sleuth.probes.mqtt, "
        "sleuth.probes.dns, sleuth.probes.tls, sleuth.probes.tcp",
        {"aiormq", "nats", "aiomqtt", "paho", "dns", "cryptography"},
    )
    assert loaded == []


@pytest.mark.parametrize("kind", list(NET_KINDS))
def test_missing_driver_gives_the_install_hint(
    kind: str, env: ProbeEnv, monkeypatch: pytest.MonkeyPatch
):
    module, package, options = NET_KINDS[kind]
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    probe = load_kind(kind)(env, None, **options)
    with pytest.raises(MissingDriver) as caught:
        probe.check()
    assert str(caught.value) == (
        f"The {kind} probe needs the '{package}' package. Install it with: "
        f"pip install 'sleuth[{kind}]'"
    )


def test_load_raises_missing_driver():
    with pytest.raises(MissingDriver, match=r"pip install 'sleuth\[amqp\]'"):
        load("sleuth_no_such_driver", kind="amqp", package="aiormq", extra="amqp")


def test_unknown_option_in_service_config_names_where(env: ProbeEnv):
    with pytest.raises(ConfigError) as caught:
        helper_options(env, "amqp", "events", {}, frozenset({"url", "queue"}))
    assert str(caught.value) == (
        "services: amqp: events: of target 'prod' in sleuth.yaml: unknown amqp "
        "option 'queu'. Valid options: queue, url. Did you mean 'queue'?"
    )


def test_options_are_interpolated_and_given_ones_win(env: ProbeEnv):
    options, where = helper_options(
        env,
        "tcp",
        None,
        {"host": "${setting:HOST}", "port": 5432},
        frozenset({"host", "port"}),
    )
    assert options == {"host": "db-1", "port": 5432}
    assert where == "target.tcp(...)"


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        pytest.param(
            {"dsn": "postgresql://app:pw-7f3a91c2@db-1:5432/orders"},
            "postgresql://app:***@db-1:5432/orders",
            id="dsn-url",
        ),
        pytest.param(
            {"dsn": "host=db-1 dbname=orders password=pw-7f3a91c2"},
            "host=db-1 dbname=orders password=***",
            id="dsn-keywords",
        ),
        pytest.param(
            {"dsn": "postgresql://app@db-1/orders", "password": "pw-7f3a91c2"},
            "postgresql://app@db-1/orders",
            id="password-option",
        ),
    ],
)
def test_only_the_password_of_a_dsn_is_secret(env: ProbeEnv, options, shown):
    # The rest of it says where the dependency is: "postgres connect ***"
    # told a person nothing.
    registry = redact.SecretRegistry()
    redact.activate(registry)
    try:
        helper_options(env, "postgres", None, options, frozenset(options))
    finally:
        redact.deactivate(registry)
    assert registry.scrub(f"waiting for postgres connect {options['dsn']}") == (
        f"waiting for postgres connect {shown}"
    )
    assert registry.scrub("pw-7f3a91c2") == "***"


def test_unknown_service_lists_the_known_ones(env: ProbeEnv):
    with pytest.raises(ConfigError, match=r"Its amqp services: events\. Did you mean"):
        load_kind("amqp")(env, "event")


@pytest.mark.parametrize(
    ("exc", "category", "text"),
    [
        pytest.param(
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "dns",
            "x 1: the name h does not resolve (Name or service not known). Check "
            "the host name and this runner's DNS.",
            id="dns",
        ),
        pytest.param(
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
            "refused",
            "x 1: connection refused by h:1. Is the service running and listening "
            "there?",
            id="refused",
        ),
        pytest.param(
            OSError(errno.ECONNREFUSED, "Connect call failed"),
            "refused",
            "x 1: connection refused by h:1. Is the service running and listening "
            "there?",
            id="refused-by-errno",
        ),
        pytest.param(
            ConnectionResetError(errno.ECONNRESET, "reset"),
            "reset",
            "x 1: h:1 closed the connection before answering",
            id="reset",
        ),
        pytest.param(
            TimeoutError(), "timeout", "x 1: h:1 did not answer in time", id="timeout"
        ),
        pytest.param(
            ssl.SSLError(1, "bad"),
            "tls",
            "x 1: TLS failed with h:1: bad",
            id="tls",
        ),
        pytest.param(
            OSError(errno.EHOSTUNREACH, "No route to host"),
            "other",
            "x 1: cannot connect to h:1: No route to host",
            id="other",
        ),
    ],
)
def test_socket_errors_get_their_category(exc: BaseException, category: str, text: str):
    translated = translate_os_error(exc, what="x 1", host="h", port=1)
    assert translated is not None
    assert translated.category == category
    assert str(translated) == text


def test_non_socket_errors_are_left_to_the_helper():
    assert translate_os_error(ValueError("x"), what="x", host="h", port=1) is None
