from __future__ import annotations

import pytest

from sleuth.engine import Engine
from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.tcp import TcpHealth
from tests.conftest import HttpTarget
from tests.integration.conftest import MakeTarget, in_probe


def test_open_port_reports_connect_time_and_peer(
    make_target: MakeTarget, http_target: HttpTarget
):
    port = int(http_target.url.rsplit(":", 1)[1])
    with in_probe() as ctx:
        health = make_target().tcp(host="127.0.0.1", port=port).check()
    assert isinstance(health, TcpHealth)
    assert health.remote == f"127.0.0.1:{port}"
    assert 0 < health.connect_s < 5
    [exchange] = ctx.exchanges
    assert exchange.kind == "tcp"
    assert exchange.summary().startswith(f"tcp connect 127.0.0.1:{port} -> connected")
    assert "connect" in exchange.timings_ms


def test_service_by_name_from_config(make_target: MakeTarget, http_target: HttpTarget):
    port = http_target.url.rsplit(":", 1)[1]
    target = make_target(
        f"""
        targets:
          local:
            services:
              tcp:
                web: {{host: 127.0.0.1, port: {port}}}
        """
    )
    assert target.tcp("web").check().port == int(port)


def test_closed_port_is_refused(make_target: MakeTarget, closed_port: int):
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        make_target().tcp(host="127.0.0.1", port=closed_port).check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"tcp 127.0.0.1:{closed_port}: connection refused by 127.0.0.1:{closed_port}. "
        f"Is the service running and listening there?"
    )
    assert ctx.exchanges[0].error == str(caught.value)


def test_unanswered_port_times_out_at_the_deadline(
    make_target: MakeTarget, unanswered_port: int
):
    with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
        make_target().tcp(host="127.0.0.1", port=unanswered_port).check()
    assert caught.value.category == "timeout"
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for tcp connect 127.0.0.1:{unanswered_port}"
        " (timeout from test)"
    )


def test_name_that_does_not_resolve_is_a_dns_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().tcp(host="-no-such-host.invalid", port=80).check()
    assert caught.value.category == "dns"
    assert str(caught.value).startswith(
        "tcp -no-such-host.invalid:80: the name -no-such-host.invalid does not resolve"
    )


def test_slow_connect_over_threshold_fails_with_figures(
    make_target: MakeTarget, http_target: HttpTarget
):
    port = int(http_target.url.rsplit(":", 1)[1])
    # No connection is made in under a microsecond, so this threshold must fail.
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().tcp(host="127.0.0.1", port=port).check(
            max_connect_time="0.000001s"
        )
    assert caught.value.category == "unhealthy"
    message = str(caught.value)
    assert message.startswith(f"tcp 127.0.0.1:{port}: connect time ")
    assert ", over max_connect_time 0.0 ms. The port answers, slowly" in message


def test_unknown_option_and_threshold_are_config_errors(make_target: MakeTarget):
    target = make_target()
    with pytest.raises(ConfigError) as caught:
        target.tcp(host="127.0.0.1", prot=80)  # type: ignore[call-arg]  # on purpose
    assert str(caught.value) == (
        "target.tcp(...): unknown tcp option 'prot'. Valid options: host, port. "
        "Did you mean 'port'?"
    )
    with pytest.raises(ConfigError) as caught:
        target.tcp(host="127.0.0.1", port=80).check(max_conect_time="1s")
    assert "unknown tcp check 'max_conect_time'" in str(caught.value)
    assert "Did you mean 'max_connect_time'?" in str(caught.value)
    with pytest.raises(ConfigError, match="needs port="):
        target.tcp(host="127.0.0.1")


def test_acheck_for_async_probes(
    make_target: MakeTarget, engine: Engine, http_target: HttpTarget
):
    port = int(http_target.url.rsplit(":", 1)[1])
    probe = make_target().tcp(host="127.0.0.1", port=port)
    with in_probe() as ctx:
        health = engine.call(probe.acheck(), ctx=ctx)
    assert health.remote == f"127.0.0.1:{port}"
