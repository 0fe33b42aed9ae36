"""HTTP over TLS: ``tls:`` options, and bad certificates diagnosed as ``target.tls`` does.

Real HTTPS servers on loopback (tests/integration/tlsserver.py) with
certificates made for each case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sleuth.errors import ConfigError, TargetUnreachable
from sleuth.target import Target
from tests.integration.conftest import MakeTarget, in_probe, run_example
from tests.integration.tlsserver import CertFactory, TlsHttpServer

Serve = Callable[..., TlsHttpServer]
DAY = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFactory:
    return CertFactory(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def serve(certs: CertFactory) -> Iterator[Serve]:
    servers: list[TlsHttpServer] = []

    def start(label: str, *, client_ca: Path | None = None, **options: object):
        cert, key = certs.issue(label, **options)  # type: ignore[arg-type]
        server = TlsHttpServer(cert, key, client_ca=client_ca).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _target(make_target: MakeTarget, server: TlsHttpServer, tls: str = "") -> Target:
    return make_target(
        f"""
        targets:
          secure:
            base_url: {server.url}
            {tls}
        """
    )


def _fails(target: Target, path: str = "/health") -> str:
    with in_probe() as ctx, pytest.raises(TargetUnreachable) as caught:
        target.http.get(path)
    assert caught.value.category == "tls"
    message = str(caught.value)
    [exchange] = ctx.exchanges
    assert exchange.error == message  # the evidence says the same
    assert "Cannot connect to host" not in message
    assert "ssl:" not in message
    return message


def test_ca_file_per_target_verifies_a_private_ca(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("valid")
    target = _target(make_target, server, f"tls: {{ca_file: {certs.ca_file}}}")
    with in_probe() as ctx:
        response = target.http.get("/health")
    assert response.status_code == 200
    assert len(server.requests) == 1
    # verified: nothing says otherwise in the evidence
    assert "tls verified" not in ctx.exchanges[0].headers


def test_without_the_ca_the_issuer_is_named_untrusted(
    make_target: MakeTarget, serve: Serve
):
    server = serve("private")
    message = _fails(_target(make_target, server))
    assert message.startswith(f"GET {server.url}/health: TLS failed: ")
    assert "the certificate chain is not trusted: unable to get local issuer" in message
    assert "issuer CN=sleuth test CA" in message
    assert "give tls: {ca_file: ...}" in message
    assert server.requests == []


def test_expired_certificate_says_how_long_ago_and_the_date(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("expired", not_before_days=-30, not_after_days=-3)
    target = _target(make_target, server, f"tls: {{ca_file: {certs.ca_file}}}")
    message = _fails(target)
    assert re.search(
        rf"the certificate expired 3\.0 days ago \(not after {DAY}\)", message
    )
    assert server.requests == []


def test_certificate_for_another_name_names_both(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("other", names=("api.example.com",))
    target = _target(make_target, server, f"tls: {{ca_file: {certs.ca_file}}}")
    message = _fails(target)
    assert "the certificate is for DNS:api.example.com, not 127.0.0.1" in message


def test_self_signed_certificate_is_said_so(make_target: MakeTarget, serve: Serve):
    server = serve("self", self_signed=True)
    message = _fails(_target(make_target, server))
    assert "the certificate chain is not trusted: self-signed certificate" in message
    assert "issuer CN=localhost" in message


def test_certificate_for_clients_only_names_its_key_usage(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("client-only", client=True)
    target = _target(make_target, server, f"tls: {{ca_file: {certs.ca_file}}}")
    message = _fails(target)
    assert (
        "the certificate is not for a TLS server: its key usage allows clientAuth, "
        "not serverAuth" in message
    )


def test_verify_false_answers_and_says_so_in_the_evidence(
    make_target: MakeTarget, serve: Serve
):
    server = serve("self-unverified", self_signed=True)
    target = _target(make_target, server, "tls: {verify: false}")
    with in_probe() as ctx:
        response = target.http.get("/health")
    assert response.status_code == 200
    [exchange] = ctx.exchanges
    assert exchange.headers["tls verified"].startswith("no (tls verify: false)")


def test_per_request_tls_overrides_the_target(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("per-request")
    target = _target(make_target, server)  # no ca_file: would not verify
    with in_probe():
        response = target.http.get("/a", tls={"ca_file": str(certs.ca_file)})
    assert response.status_code == 200
    _fails(target, "/b")  # the target's own options are unchanged
    with in_probe() as ctx:
        target.http.get("/c", tls={"verify": False})
    assert "tls verified" in ctx.exchanges[0].headers
    assert [r["Host"] for r in server.requests] == [f"127.0.0.1:{server.port}"] * 2


def test_client_certificate_for_a_server_that_requires_one(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    server = serve("mtls", client_ca=certs.ca_file)
    cert, key = certs.issue("probe-client", names=("probe",), client=True)
    without = _target(make_target, server, f"tls: {{ca_file: {certs.ca_file}}}")
    message = _fails(without)
    assert "the server asks for a client certificate and none was sent" in message
    assert "client_cert" in message
    with_cert = _target(
        make_target,
        server,
        f"tls: {{ca_file: {certs.ca_file}, client_cert: {cert}, client_key: {key}}}",
    )
    with in_probe():
        assert with_cert.http.get("/health").status_code == 200
    assert len(server.requests) == 1


def test_missing_and_broken_files_are_config_errors_with_the_line(
    make_target: MakeTarget, certs: CertFactory, tmp_path: Path
):
    with pytest.raises(ConfigError) as caught:
        make_target(
            """
            targets:
              secure:
                base_url: https://127.0.0.1:1
                tls:
                  ca_file: certs/nowhere.pem
            """
        )
    assert str(caught.value).endswith(
        f"sleuth.yaml line 6: tls ca_file 'certs/nowhere.pem': there is no such "
        f"file ({tmp_path / 'certs/nowhere.pem'})"
    )
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(ConfigError) as caught:
        make_target("tls: {ca_file: junk.pem}\n")
    assert str(caught.value).endswith(
        f"sleuth.yaml line 1: tls ca_file {tmp_path / 'junk.pem'}: cannot be used "
        f"(NO_CERTIFICATE_OR_CRL_FOUND): it must hold a PEM certificate"
    )
    with pytest.raises(ConfigError) as caught:
        make_target("tls:\n  verify: false\n  ca_fil: x.pem\n")
    assert str(caught.value).endswith(
        "sleuth.yaml line 3: unknown key 'ca_fil' in tls. Valid keys: ca_file, "
        "client_cert, client_key, verify. Did you mean 'ca_file'?"
    )
    with pytest.raises(ConfigError, match="line 1: invalid tls verify 'maybe'"):
        make_target("tls: {verify: maybe}\n")
    cert, _key = certs.issue("mine")
    _cert, other_key = certs.issue("theirs")
    with pytest.raises(ConfigError) as caught:
        make_target(f"tls: {{client_cert: {cert}, client_key: {other_key}}}\n")
    assert str(caught.value).endswith(
        f"line 1: tls client_cert {cert} with client_key {other_key}: the key is "
        f"not the certificate's own (KEY_VALUES_MISMATCH)"
    )
    (tmp_path / "k.pem").write_text("x")
    with pytest.raises(ConfigError, match="client_key needs client_cert"):
        make_target("tls: {client_key: k.pem}\n")


def test_per_request_mistake_is_a_config_error(make_target: MakeTarget, serve: Serve):
    server = serve("arg")
    target = _target(make_target, server)
    with in_probe(), pytest.raises(ConfigError) as caught:
        target.http.get("/x", tls={"ca_file": "/nowhere/ca.pem"})
    assert str(caught.value) == (
        f"tls={{...}} ca_file of GET {server.url}/x: tls ca_file '/nowhere/ca.pem': "
        f"there is no such file (/nowhere/ca.pem)"
    )
    assert server.requests == []


def test_sleuth_run_diagnoses_through_the_worker_and_tables_take_tls(
    certs: CertFactory, serve: Serve, tmp_path: Path
):
    """The whole way: ``sleuth run`` (its HTTP worker builds the contexts), a
    table row with its own ``tls:``, paths relative to their files."""
    server = serve("run-expired", not_before_days=-30, not_after_days=-2)
    suite = tmp_path / "suite"
    (suite / "certs").mkdir(parents=True)
    (suite / "certs" / "ca.pem").write_bytes(certs.ca_file.read_bytes())
    (suite / "sleuth.yaml").write_text(
        f"targets:\n  secure:\n    base_url: {server.url}\n"
        f"    tls: {{ca_file: certs/ca.pem}}\n"
    )
    (suite / "probes").mkdir()
    (suite / "probes" / "api.yaml").write_text(
        "http:\n"
        "  - GET /verified: 200\n"
        "  - {request: GET /unverified, tls: {verify: false}, expect: 200}\n"
    )
    report = tmp_path / "run.json"
    result = run_example(suite, f"--sleuth-json={report}", env={})
    assert result.returncode == 1, result.stdout + result.stderr
    probes = {p["id"]: p for p in json.loads(report.read_text())["probes"]}
    failed = probes["probes/api.yaml::GET /verified"]
    assert failed["category"] == "tls"
    assert re.search(r"the certificate expired 2\.0 days ago", failed["diagnosis"])
    passed = probes["probes/api.yaml::GET /unverified"]
    assert passed["outcome"] == "passed"
    [exchange] = passed["evidence"]["exchanges"]
    assert exchange["headers"]["tls verified"].startswith("no (tls verify: false)")
    assert len(server.requests) == 1  # the unverified one; the other never sent


def test_the_config_example_runs(
    make_target: MakeTarget, certs: CertFactory, serve: Serve, tmp_path: Path
):
    """docs/config.md's tls: example, at a local server that wants a client cert."""
    from tests.test_config_docs import example

    server = serve("docs", client_ca=certs.ca_file)
    client_cert, client_key = certs.issue("docs-client", names=("probe",), client=True)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs/internal-ca.pem").write_bytes(certs.ca_file.read_bytes())
    (tmp_path / "certs/probe.pem").write_bytes(client_cert.read_bytes())
    (tmp_path / "certs/probe.key").write_bytes(client_key.read_bytes())
    text = example("config.md", "# sleuth.yaml\ntargets:\n  internal:")
    text = text.replace("https://billing.internal:8443", server.url)
    text = text.replace("https://10.0.0.7", server.url)
    text += "default_target: internal\n"
    with in_probe():
        assert make_target(text).http.get("/health").status_code == 200
    legacy = make_target(
        text.replace("default_target: internal", "default_target: legacy")
    )
    message = _fails(legacy)  # verify: false, but no client certificate
    assert "asks for a client certificate" in message
    assert len(server.requests) == 1


def test_requests_say_they_are_sleuth_unless_the_suite_says_otherwise(
    make_target: MakeTarget, certs: CertFactory, serve: Serve
):
    from sleuth._version import __version__

    server = serve("user-agent")
    tls = f"tls: {{ca_file: {certs.ca_file}}}"
    plain = _target(make_target, server, tls)
    named = make_target(
        f"targets:\n  secure:\n    base_url: {server.url}\n    {tls}\n"
        f"    headers: {{user-agent: ops-probe/2}}\n"
    )
    with in_probe():
        plain.http.get("/a")
        plain.http.get("/b", headers={"User-Agent": "mine/1"})
        named.http.get("/c")
    agents = [
        [v for k, v in r.items() if k.lower() == "user-agent"] for r in server.requests
    ]
    assert agents == [[f"sleuth/{__version__}"], ["mine/1"], ["ops-probe/2"]]
