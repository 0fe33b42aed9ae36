"""Certificates made with cryptography, and a tiny TLS server on loopback.

For the tls probe's tests: a test CA and certificates signed by it (valid,
expiring soon, expired, for another host), one self-signed, each served by a
server that only does handshakes.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import socket
import ssl
import threading
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

POLL_S = 0.05
DAY = _dt.timedelta(days=1)


def _name(common_name: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _ca_key_usage(x509: Any) -> Any:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


class CertFactory:
    """A test CA in ``directory``, and certificates it signs (or not)."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        self.directory = directory
        now = _dt.datetime.now(_dt.UTC)
        self.ca_key = _key()
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("sleuth test CA"))
            .issuer_name(_name("sleuth test CA"))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(_ca_key_usage(x509), True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                False,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file = self._write("ca.pem", self.ca_cert)

    def issue(
        self,
        label: str,
        *,
        names: tuple[str, ...] = ("localhost", "127.0.0.1"),
        not_before_days: float = -1,
        not_after_days: float = 90,
        self_signed: bool = False,
        client: bool = False,
    ) -> tuple[Path, Path]:
        """(certificate file, key file) for ``names``, valid over the given days;
        for a TLS server, or with ``client`` for a TLS client only."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization

        now = _dt.datetime.now(_dt.UTC)
        key = _key()
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        issuer_key = key if self_signed else self.ca_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(_name(names[0]) if self_signed else self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + not_before_days * DAY)
            .not_valid_after(now + not_after_days * DAY)
            .add_extension(x509.SubjectAlternativeName(sans), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [
                        x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
                        if client
                        else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
                    ]
                ),
                False,
            )
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca_key.public_key()
                ),
                False,
            )
        cert = builder.sign(issuer_key, hashes.SHA256())
        key_file = self.directory / f"{label}.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return self._write(f"{label}.pem", cert), key_file

    def _write(self, filename: str, cert: Any) -> Path:
        from cryptography.hazmat.primitives import serialization

        path = self.directory / filename
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path


class TlsServer:
    """Accepts on a loopback port and does TLS handshakes with one certificate."""

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        *,
        max_version: ssl.TLSVersion | None = None,
    ) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        if max_version is not None:
            with warnings.catch_warnings():
                # Old versions are deprecated: serving one is the point here.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.maximum_version = max_version
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(POLL_S)
        self.port: int = self._sock.getsockname()[1]
        self.handshakes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TlsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                tls.recv(1)  # until the client closes
        except (ssl.SSLError, OSError):
            pass  # clients that reject the certificate abort the handshake
        finally:
            conn.close()


class TlsHttpServer:
    """HTTP over TLS on a loopback port: answers ``200 ok`` to any GET, and
    keeps the headers of every request it read (``requests``).

    With ``client_ca`` it asks for a client certificate signed by that CA and
    refuses a client without one.
    """

    def __init__(
        self, cert_file: Path, key_file: Path, *, client_ca: Path | None = None
    ) -> None:
        import http.server

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        self.requests: list[dict[str, str]] = []
        self.handshake_failures = 0
        server = self
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                requests.append(dict(self.headers.items()))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no noise in the test output

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                conn, address = self.socket.accept()
                # The handshake in the request's thread, not in the accepting one.
                tls = context.wrap_socket(
                    conn, server_side=True, do_handshake_on_connect=False
                )
                return tls, address

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    request.settimeout(5)
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    server.handshake_failures += 1
                    return
                super().finish_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-request

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_S,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> TlsHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
