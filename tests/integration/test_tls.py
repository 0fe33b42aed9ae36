from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from sleuth.errors import CheckFailed, ConfigError, ProbeTimeout, TargetUnreachable
from sleuth.probes.tls import TlsHealth
from tests.integration.conftest import MakeTarget, in_probe
from tests.integration.tlsserver import CertFactory, TlsServer


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    return CertFactory(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def serve(certs: CertFactory) -> Iterator[object]:
    servers: list[TlsServer] = []

    def start(label: str, **options: object) -> int:
        max_version = options.pop("max_version", None)
        cert, key = certs.issue(label, **options)  # type: ignore[arg-type]
        server = TlsServer(cert, key, max_version=max_version)  # type: ignore[arg-type]
        servers.append(server.__enter__())
        return server.port

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _tls(make_target: MakeTarget, certs: CertFactory, port: int, server_name: str = ""):
    return make_target().tls(
        host="127.0.0.1",
        port=port,
        ca_file=str(certs.ca_file),
        **({"server_name": server_name} if server_name else {}),
    )


def test_valid_certificate_passes_with_figures(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("valid")
    with in_probe() as ctx:
        health = _tls(make_target, certs, port).check(
            min_days_left="30d", warn_days_left=60, min_version="1.2"
        )
    assert isinstance(health, TlsHealth)
    assert health.verified
    assert health.hostname_matches
    assert health.verify_error is None
    assert 89 < health.days_left < 90
    assert health.names == ("DNS:localhost", "IP:127.0.0.1")
    assert health.issuer == "CN=sleuth test CA"
    assert health.version == "TLSv1.3"
    assert health.warnings == ()
    [exchange] = ctx.exchanges
    assert exchange.request == f"tls handshake 127.0.0.1:{port}"
    assert exchange.headers["verified"] == "yes"
    assert exchange.headers["names"] == "DNS:localhost, IP:127.0.0.1"


def test_certificate_near_expiry_fails_under_min_and_warns_under_warn(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("soon", not_after_days=10.5)
    probe = _tls(make_target, certs, port)
    with in_probe() as ctx:
        health = probe.check(min_days_left=7, warn_days_left="2w")
    [warning] = health.warnings
    assert warning.startswith("certificate expires in 10.")
    assert warning.endswith("under warn_days_left 14")
    assert ctx.exchanges[0].headers["warning"] == warning
    assert ctx.warnings == [f"tls 127.0.0.1:{port}: {warning}"]  # a warned outcome
    with in_probe(), pytest.raises(CheckFailed) as caught:
        probe.check(min_days_left=30)
    assert caught.value.category == "unhealthy"
    message = str(caught.value)
    assert message.startswith(f"tls 127.0.0.1:{port}: the certificate expires in 10.")
    assert "days (20" in message  # the date it expires
    assert message.endswith(
        ", under min_days_left 30. Renew the certificate, or upgrade the server's "
        "TLS settings."
    )


def test_expired_certificate_fails_with_the_date(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("expired", not_before_days=-40, not_after_days=-3)
    with in_probe() as ctx, pytest.raises(CheckFailed) as caught:
        _tls(make_target, certs, port).check()
    assert caught.value.category == "tls"
    message = str(caught.value)
    assert message.startswith(
        f"tls 127.0.0.1:{port}: the certificate expired 3.0 days ago (not after 20"
    )
    assert message.endswith(
        "). Renew or reissue the certificate, or give ca_file: for a private CA."
    )
    assert "certificate has expired (code 10)" in ctx.exchanges[0].headers["verified"]
    # verify=False still fails an expired certificate
    with in_probe(), pytest.raises(CheckFailed, match=r"expired 3\.0 days ago"):
        _tls(make_target, certs, port).check(verify=False)


def test_certificate_for_another_host_fails_naming_both(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("other-host", names=("other.example",))
    with in_probe(), pytest.raises(CheckFailed) as caught:
        _tls(make_target, certs, port).check()
    assert caught.value.category == "tls"
    assert str(caught.value) == (
        f"tls 127.0.0.1:{port}: the certificate is for DNS:other.example, not "
        f"127.0.0.1. Renew or reissue the certificate, or give ca_file: for a "
        f"private CA."
    )
    health = _tls(make_target, certs, port).certificate()
    assert (health.verified, health.hostname_matches) == (False, False)


def test_server_name_selects_the_name_checked(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("named", names=("api.test",))
    probe = _tls(make_target, certs, port, server_name="api.test")
    assert probe.display == f"127.0.0.1:{port} (api.test)"
    assert probe.check().hostname_matches


def test_self_signed_certificate_is_not_trusted(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("self-signed", self_signed=True)
    with in_probe(), pytest.raises(CheckFailed) as caught:
        _tls(make_target, certs, port).check()
    assert caught.value.category == "tls"
    assert str(caught.value) == (
        f"tls 127.0.0.1:{port}: the certificate chain is not trusted: self-signed "
        f"certificate (code 18); issuer CN=localhost. Renew or reissue the "
        f"certificate, or give ca_file: for a private CA."
    )
    # The same server passes when verification is off on purpose.
    assert _tls(make_target, certs, port).check(verify="no").days_left > 89


def test_ca_signed_certificate_without_the_ca_is_not_trusted(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("no-ca")
    with in_probe(), pytest.raises(CheckFailed) as caught:
        make_target().tls(host="127.0.0.1", port=port).check()
    assert "the certificate chain is not trusted: unable to get local issuer" in str(
        caught.value
    )


def test_old_protocol_under_min_version_fails(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("tls12", max_version=ssl.TLSVersion.TLSv1_2)
    probe = _tls(make_target, certs, port)
    assert probe.check(min_version="TLSv1.2").version == "TLSv1.2"
    with in_probe(), pytest.raises(CheckFailed) as caught:
        probe.check(min_version=1.3)
    assert caught.value.category == "unhealthy"
    assert str(caught.value) == (
        f"tls 127.0.0.1:{port}: protocol TLSv1.2, under min_version TLSv1.3. Renew "
        f"the certificate, or upgrade the server's TLS settings."
    )


def test_server_with_only_old_protocols_is_a_tls_failure(
    make_target: MakeTarget, certs: CertFactory, serve
):
    port = serve("tls11", max_version=ssl.TLSVersion.TLSv1_1)
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        _tls(make_target, certs, port).check()
    assert caught.value.category == "tls"
    assert str(caught.value).endswith(
        "The server and this runner share no protocol version (this runner "
        "accepts TLS 1.2 and later)."
    )


def test_closed_port_is_refused(make_target: MakeTarget, closed_port: int):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().tls(host="127.0.0.1", port=closed_port).check()
    assert caught.value.category == "refused"
    assert str(caught.value) == (
        f"tls 127.0.0.1:{closed_port}: connection refused by 127.0.0.1:"
        f"{closed_port}. Is the service running and listening there?"
    )


def test_silent_port_times_out_in_the_handshake(
    make_target: MakeTarget, silent_port: int
):
    with in_probe(timeout_s=0.5), pytest.raises(ProbeTimeout) as caught:
        make_target().tls(host="127.0.0.1", port=silent_port).check()
    assert str(caught.value) == (
        f"timed out after 0.5 s waiting for tls handshake 127.0.0.1:{silent_port}"
        " (timeout from test)"
    )


def test_plain_tcp_server_is_a_tls_failure(make_target: MakeTarget, http_target):
    port = int(http_target.url.rsplit(":", 1)[1])
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().tls(host="127.0.0.1", port=port).check()
    assert caught.value.category == "tls"
    assert str(caught.value) == (
        f"tls 127.0.0.1:{port}: the TLS handshake failed: WRONG_VERSION_NUMBER. "
        f"The server did not answer in TLS: is it a plain-text port?"
    )


def test_unresolvable_host_is_a_dns_failure(make_target: MakeTarget):
    with in_probe(), pytest.raises(TargetUnreachable) as caught:
        make_target().tls(host="-cert.invalid").check()
    assert caught.value.category == "dns"


def test_bad_thresholds_are_config_errors(make_target: MakeTarget, tmp_path: Path):
    probe = make_target().tls(host="127.0.0.1")
    with pytest.raises(ConfigError, match=r"invalid min_version '2\.0'"):
        probe.check(min_version="2.0")
    with pytest.raises(ConfigError, match="invalid min_days_left 'soon'"):
        probe.check(min_days_left="soon")
    with pytest.raises(ConfigError, match="invalid verify 'maybe'"):
        probe.check(verify="maybe")
