from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.dns import DnsHealth
from tests.integration.conftest import MakeTarget, in_probe
from tests.integration.dnsserver import DnsServer

RECORDS = {
    ("api.test.", "A"): ["192.0.2.11", "192.0.2.10"],
    ("api.test.", "AAAA"): ["2001:db8::10"],
    ("www.test.", "CNAME"): ["API.test."],
    ("api.test.", "TXT"): ['"v=spf1 -all"'],
    ("api.test.", "MX"): ["10 mail.test."],
}


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(RECORDS) as server:
        yield server


def _probe(make_target: MakeTarget, server: DnsServer, name: str, type: str = "A"):
    return make_target().dns(name=name, server="127.0.0.1", port=server.port, type=type)


def test_records_match_what_is_expected(make_target: MakeTarget, dns_server: DnsServer):
    with in_probe() as ctx:
        health = _probe(make_target, dns_server, "api.test").check(
            expect=["192.0.2.10", "192.0.2.11"], max_resolve_time="2s"
        )
    assert isinstance(health, DnsHealth)
    assert health.records == ("192.0.2.10", "192.0.2.11")
    assert health.ttl == 300
    assert health.server == f"127.0.0.1:{dns_server.port}"
    [exchange] = ctx.exchanges
    assert exchange.request == f"dns A api.test @127.0.0.1:{dns_server.port}"
    assert exchange.headers == {"records": "192.0.2.10, 192.0.2.11", "ttl": "300"}
    assert dns_server.queries == 1


@pytest.mark.parametrize(
    ("name", "rdtype", "expect"),
    [
        pytest.param("api.test", "AAAA", "2001:0db8:0::10", id="ipv6-spelling"),
        pytest.param("www.test", "CNAME", "api.TEST.", id="name-case-and-dot"),
        pytest.param("api.test", "TXT", "v=spf1 -all", id="txt-unquoted"),
        pytest.param("api.test", "MX", "10 mail.test", id="mx"),
    ],
)
def test_records_are_compared_after_normalising(
    make_target: MakeTarget, dns_server: DnsServer, name: str, rdtype: str, expect: str
):
    _probe(make_target, dns_server, name, type=rdtype).check(expect=expect)


def test_other_records_than_expected_fail_with_the_difference(
    make_target: MakeTarget, dns_server: DnsServer
):
    probe = _probe(make_target, dns_server, "api.test")
    with in_probe(), pytest.raises(CheckFailed) as caught:
        probe.check(expect=["192.0.2.10", "192.0.2.99"])
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"dns api.test A @127.0.0.1:{dns_server.port}: resolves to 192.0.2.10, "
        f"192.0.2.11, expected 192.0.2.10, 192.0.2.99 (unexpected 192.0.2.11; "
        f"missing 192.0.2.99). Check the zone's records, and which server this "
        f"runner asks."
    )
    with in_probe(), pytest.raises(CheckFailed) as caught:
        probe.check(contains="192.0.2.99")
    assert "resolves to 192.0.2.10, 192.0.2.11, missing 192.0.2.99." in str(
        caught.value
    )
    probe.check(contains="192.0.2.11")


def test_invalid_name_is_nxdomain(make_target: MakeTarget, dns_server: DnsServer):
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        _probe(make_target, dns_server, "nothing.invalid").check()
    assert caught.value.category == "dns"
    assert str(caught.value) == (
        f"dns nothing.invalid A @127.0.0.1:{dns_server.port}: the name "
        f"nothing.invalid does not exist (NXDOMAIN). Check the spelling, and that "
        f"the record was published in the zone."
    )
    assert ctx.exchanges[0].error == str(caught.value)


def test_name_without_records_of_the_type(
    make_target: MakeTarget, dns_server: DnsServer
):
    with in_probe(), pytest.raises(CheckFailed) as caught:
        _probe(make_target, dns_server, "www.test", type="A").check()
    assert caught.value.category == "dns"
    assert str(caught.value).endswith("the name www.test exists but has no A records")


def test_server_failure_is_a_dns_error(make_target: MakeTarget, dns_server: DnsServer):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        _probe(make_target, dns_server, "db.broken").check()
    assert caught.value.category == "dns"
    assert "no name server answered usefully" in str(caught.value)
    assert "SERVFAIL" in str(caught.value)


def test_server_that_never_answers_times_out(make_target: MakeTarget):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, never read: queries go unanswered
    port = silent.getsockname()[1]
    try:
        probe = make_target().dns(name="api.test", server="127.0.0.1", port=port)
        with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
            probe.check()
    finally:
        silent.close()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for dns A api.test @127.0.0.1:{port}"
        " (timeout from test)"
    )


def test_resolve_accessor_and_service_by_name(
    make_target: MakeTarget, dns_server: DnsServer
):
    target = make_target(
        f"""
        targets:
          local:
            services:
              dns:
                api: {{name: api.test, server: 127.0.0.1, port: {dns_server.port}}}
        """
    )
    assert target.dns("api").resolve() == ("192.0.2.10", "192.0.2.11")


def test_server_must_be_an_address(make_target: MakeTarget):
    with pytest.raises(ConfigError) as caught:
        make_target().dns(name="api.test", server="ns1.example.com")
    assert str(caught.value) == (
        "target.dns(...): dns server 'ns1.example.com' is not an IP address: give "
        "the name server's address, e.g. server: 192.0.2.53"
    )
    with pytest.raises(ConfigError, match="invalid expect 5"):
        make_target().dns(name="api.test").check(expect=5)
