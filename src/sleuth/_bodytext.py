"""How a response body is shown to people: text as text; anything else as its
size, its type and a hex excerpt.

A PNG, a gzip file or a protobuf message decoded as UTF-8 is mojibake: it
fills the evidence with replacement characters and says nothing. A body is
binary when its Content-Type says so (images, audio, video, fonts,
``application/octet-stream``, PDFs, archives...), when it holds a NUL byte, or,
with no text type declared, when it is not valid UTF-8.
"""

from __future__ import annotations

# Types that are text whatever their subtype says, besides text/* and +json/+xml.
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-www-form-urlencoded",
        "application/yaml",
        "application/x-yaml",
        "application/x-ndjson",
        "application/graphql",
        "application/sql",
        "application/x-sh",
    }
)
BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-protobuf",
        "application/protobuf",
        "application/grpc",
        "application/msgpack",
        "application/x-msgpack",
        "application/cbor",
        "application/wasm",
    }
)
# How much of a binary body is shown, in bytes (as hex).
HEX_BYTES = 32
# How much of a body is sniffed for NUL bytes and UTF-8.
SNIFF_BYTES = 1024


def media_type(content_type: str | None) -> str:
    """``image/png`` of ``image/png; q=1``; "" when there is none."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_binary(body: bytes, content_type: str | None) -> bool:
    kind = media_type(content_type)
    sample = body[:SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    if is_text_type(kind):
        return False
    if kind.startswith(BINARY_PREFIXES) or kind in BINARY_TYPES:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by the sample's end is still text.
        return exc.start < len(sample) - 3
    return False


def is_text_type(kind: str) -> bool:
    return (
        kind.startswith("text/")
        or kind in TEXT_TYPES
        or kind.endswith(("+json", "+xml", "+yaml"))
    )


def describe_binary(body: bytes, content_type: str | None) -> str:
    """``binary body, 2,048 bytes of image/png: 89 50 4e 47 0d 0a 1a 0a ...``."""
    kind = media_type(content_type) or "no Content-Type"
    shown = body[:HEX_BYTES].hex(" ")
    more = " ..." if len(body) > HEX_BYTES else ""
    return f"binary body, {len(body):,} bytes of {kind}: {shown}{more}"


def excerpt(
    body: bytes, *, content_type: str | None, encoding: str, max_bytes: int
) -> str:
    """The first ``max_bytes`` of a body as text, or the binary description."""
    if is_binary(body, content_type):
        return describe_binary(body, content_type)
    return body[:max_bytes].decode(encoding, errors="replace")
