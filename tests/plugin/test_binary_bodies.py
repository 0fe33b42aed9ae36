"""A binary body is shown as its size, type and a hex excerpt, never as mojibake.

A real HTTP server on a loopback port answers a PNG, an octet-stream, a
body with no Content-Type that is not UTF-8, and plain text; the evidence
(terminal and JSON) and a table row's failure message show each as it is.
"""

from __future__ import annotations

import http.server
import json
import threading
import zlib
from collections.abc import Iterator

import pytest

from sleuth import _bodytext as bodytext


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


BODIES = {
    "/logo.png": ("image/png", png()),
    "/blob": ("application/octet-stream", bytes(range(256)) * 8),
    "/untyped": (None, b"\xff\xfe\xfa" * 40),
    "/hello": ("text/plain; charset=utf-8", "héllo wörld".encode()),
}


@pytest.fixture
def files_port() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            content_type, body = BODIES[self.path]
            self.send_response(200)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


PROBES = """
import pytest

@pytest.mark.parametrize("path", ["/logo.png", "/blob", "/untyped", "/hello"])
def test_body(target, path):
    assert target.http.get("http://127.0.0.1:{port}" + path).status_code == 201
"""
TABLE = """
http:
  - name: png has a word
    request: GET http://127.0.0.1:{port}/logo.png
    expect: {{body_contains: welcome}}
  - name: blob is json
    request: GET http://127.0.0.1:{port}/blob
    expect: {{json: {{id: 1}}}}
"""


def test_binary_bodies_show_size_type_and_hex(suite, pytester, files_port):
    suite(test_bodies=PROBES.format(port=files_port))
    (pytester.path / "api.yaml").write_text(TABLE.format(port=files_port).lstrip())
    result = pytester.runpytest("--sleuth-json=run.json")
    out = result.stdout.str()
    image = png()
    png_hex = image[:32].hex(" ")
    assert f"body: binary body, {len(image):,} bytes of image/png: {png_hex} ..." in out
    assert "binary body, 2,048 bytes of application/octet-stream: 00 01 02 03" in out
    assert "binary body, 120 bytes of no Content-Type: ff fe fa ff fe fa" in out
    assert "body: héllo wörld" in out  # text stays text
    assert "\ufffd" not in out
    assert "PNG\r" not in out
    result.stdout.fnmatch_lines_random(
        [
            "CheckFailed: GET *logo.png: the body does not contain 'welcome'; it is a binary "
            f"body, {len(image):,} bytes of image/png: 89 50 4e 47 0d 0a 1a 0a *",
            "CheckFailed: GET *blob: the body is not JSON (application/octet-stream), expected JSON "
            "for the json checks; it is a binary body, 2,048 bytes of "
            "application/octet-stream: 00 01 02 *",
        ]
    )
    document = json.loads((pytester.path / "run.json").read_text())
    excerpts = {
        p["id"]: p["evidence"]["exchanges"][0]["body_excerpt"]
        for p in document["probes"]
    }
    assert excerpts["test_bodies.py::test_body[/logo.png]"].startswith(
        f"binary body, {len(image):,} bytes of image/png: 89 50 4e 47"
    )
    assert excerpts["test_bodies.py::test_body[/hello]"] == "héllo wörld"
    assert not any("\ufffd" in text for text in excerpts.values())


@pytest.mark.parametrize(
    ("body", "content_type", "binary"),
    [
        (b'{"a": 1}', "application/json", False),
        (b"<svg/>", "image/svg+xml", False),
        (b"plain", None, False),
        ("caf\u00e9".encode()[:-1], None, False),  # a character cut at the end
        (b"\x89PNG\r\n", "image/png", True),
        (b"text with \x00 in it", "text/plain", True),
        (b"\xc3\x28 broken utf-8 " * 10, None, True),
        (b"\xe9t\xe9", "text/plain; charset=latin-1", False),
    ],
)
def test_what_counts_as_binary(body, content_type, binary):
    assert bodytext.is_binary(body, content_type) is binary
