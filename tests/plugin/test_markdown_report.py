"""The Markdown incident report, rendered by a real Markdown renderer.

A run with 50 failures against real servers (a local HTTP server answering
500, a closed port, a TLS server with a self-signed certificate, a missing
setting) is written as a report; markdown-it-py parses it (CommonMark, with
tables) and the token tree is checked: headings in order, lists nested where
they should be, evidence folded under ``<details>``, each failure's text
rendered as written.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.integration.tlsserver import CertFactory, TlsServer

HTTP_ERRORS = 45
ODD_MESSAGE = "odd <b>bold</b> *not emphasis* _nor this_ `tick` [x](y) a\\b"
PROBES = """
import pytest

@pytest.mark.parametrize("n", range({errors}))
def test_page(target, n):
    assert target.http.get(f"/status/500?body=down+{{n}}").status_code == 200

@pytest.mark.parametrize("n", range(2))
def test_closed(target, n):
    target.tcp(host="127.0.0.1", port={closed}).check()

def test_certificate(target):
    target.tls(host="127.0.0.1", port={tls}).check()

def test_odd_message(target):
    raise AssertionError({odd!r})

def test_flag(target):
    assert target.setting("FEATURE_FLAG_X") is not None, "FEATURE_FLAG_X is not set"

def test_health(target):
    assert target.http.get("/status/200").status_code == 200

def test_region(target):
    assert target.setting("DEPLOY_REGION")
"""


@pytest.fixture
def tls_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    certs = CertFactory(tmp_path_factory.mktemp("certs"))
    cert, key = certs.issue("self-signed", self_signed=True)
    with TlsServer(cert, key) as server:
        yield server.port


@pytest.fixture
def report(suite, pytester, monkeypatch, closed_port, tls_port):
    """Runs the 50-failure suite; returns a function reading its report."""
    monkeypatch.setenv("DEPLOY_REGION", "eu-west-1")
    suite(
        test_probes=PROBES.format(
            errors=HTTP_ERRORS, closed=closed_port, tls=tls_port, odd=ODD_MESSAGE
        )
    )

    def run(*args: str) -> str:
        result = pytester.runpytest("--sleuth-report", "incident.md", *args)
        result.assert_outcomes(passed=2, failed=2, errors=HTTP_ERRORS + 3)
        return Path(pytester.path, "incident.md").read_text()

    return run


def parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def headings(tokens: list[Token], level: str) -> list[str]:
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == level
    ]


def section(tokens: list[Token], title: str) -> list[Token]:
    """The tokens from the h2 ``title`` to the next h2."""
    start = next(
        i
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2" and tokens[i + 1].content == title
    )
    end = next(
        (
            i
            for i, t in enumerate(tokens[start + 1 :], start + 1)
            if t.type == "heading_open" and t.tag == "h2"
        ),
        len(tokens),
    )
    return tokens[start:end]


def items(tokens: list[Token], *, level: int) -> list[str]:
    """The text of each list item at nesting ``level`` (1: top), as rendered."""
    found: list[str] = []
    depth = 0
    for i, t in enumerate(tokens):
        if t.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif t.type == "list_item_open" and depth == level:
            inline = next(x for x in tokens[i:] if x.type == "inline")
            found.append(rendered_text(inline))
    return found


def rendered_text(inline: Token) -> str:
    """What a reader sees of an inline token: text and code, markup gone."""
    return "".join(
        c.content for c in inline.children or [] if c.type in ("text", "code_inline")
    )


def test_the_short_report_says_what_is_wrong_first_in_under_80_lines(report):
    text = report()
    assert len(text.splitlines()) < 80
    tokens = parse(text)
    assert headings(tokens, "h1") == ["sleuth: 50 of 52 probes failing on local"]
    assert headings(tokens, "h2") == ["What is wrong", "Failures (50)"]
    counts = next(
        t for t in tokens if t.type == "inline" and "2 failed, 48 errors" in t.content
    )
    assert rendered_text(counts).startswith("2 failed, 48 errors, 2 passed in ")

    causes = items(section(tokens, "What is wrong"), level=1)
    assert causes[0].startswith("127.0.0.1:")
    assert causes[0].endswith(f"({HTTP_ERRORS} probes failed the same way)")
    assert any("2 probes failed the same way" in c for c in causes)

    failures = section(tokens, "Failures (50)")
    folded = next(i for i, t in enumerate(failures) if t.type == "html_block")
    listed = items(failures[:folded], level=1)
    assert len(listed) == 50  # every failure, one line each
    assert not any("more failures" in line for line in listed)
    assert all("failed (failed)" not in line for line in listed)
    assert "test_probes.py::test_page[0]: error (http-5xx): " in listed[0]

    # The evidence: one <details> block, with a nested list inside it.
    html = [t.content for t in failures if t.type == "html_block"]
    assert html[0].startswith("<details><summary>Evidence of 3 of 50 failures")
    assert html[-1].strip() == "</details>"
    # What is wrong first: one failure of each cause, then those of no cause;
    # the 5xx answers that repeat cause 1 are what is cut.
    assert [line.split(": ")[0].split("::")[1] for line in listed[:5]] == [
        "test_page[0]",
        "test_closed[0]",
        "test_certificate",
        "test_odd_message",
        "test_flag",
    ]
    assert items(failures[folded:], level=1) == [
        "test_probes.py::test_page[0]",
        "test_probes.py::test_closed[0]",
        "test_probes.py::test_certificate",
    ]
    exchanges = items(failures[folded:], level=2)
    assert exchanges[0].startswith("GET http://127.0.0.1:")
    assert "/status/500?body=down+0 -> 500 Internal Server Error (" in exchanges[0]
    figures = items(failures[folded:], level=3)
    assert figures[0] == "body (6 bytes): down 0"
    assert figures[1:3] == ["subject: CN=localhost", "issuer: CN=localhost"]
    assert figures[3].startswith("not after: ")
    assert "None" not in text


def test_tls_evidence_shows_subject_issuer_and_expiry(report):
    tokens = parse(report("--sleuth-report-full"))
    certificate = section(tokens, "Evidence")
    start = next(
        i
        for i, t in enumerate(certificate)
        if t.type == "inline" and t.content == "`test_probes.py::test_certificate`"
    )
    nested = items(certificate[start:], level=2)
    assert nested[:4] == [
        "subject: CN=localhost",
        "issuer: CN=localhost",
        nested[2],
        "verified: no: self-signed certificate (code 18)",
    ]
    assert nested[2].startswith("not after: ")
    assert nested[2].endswith(" days left)")
    handshake = items(certificate[start:], level=1)[0]
    assert handshake.startswith("tls handshake 127.0.0.1:")
    assert " -> TLSv1.3 (" in handshake


def test_the_full_report_keeps_every_failure_and_its_evidence(report):
    text = report("--sleuth-report-full")
    tokens = parse(text)
    assert headings(tokens, "h2") == [
        "What is wrong",
        "Failures (50)",
        "Evidence",
        "Settings",
        "How this run was made",
    ]
    assert len(items(section(tokens, "Failures (50)"), level=1)) == 50
    assert len(headings(tokens, "h3")) == 50
    assert not [t for t in tokens if t.type == "html_block"]  # nothing folded
    table = section(tokens, "Settings")
    cells = [rendered_text(t) for t in table if t.type == "inline"][1:]
    assert cells[3:] == [
        *("DEPLOY_REGION", "environment", "present"),
        *("FEATURE_FLAG_X", "-", "absent"),
    ]
    assert "eu-west-1" not in text  # where a setting was found, never its value


def test_text_is_rendered_as_written(report):
    tokens = parse(report())
    listed = items(section(tokens, "Failures (50)"), level=1)
    odd = next(line for line in listed if "test_odd_message" in line)
    assert odd == f"test_probes.py::test_odd_message: failed: {ODD_MESSAGE}"
    em = [t for t in tokens if t.type == "inline"]
    assert not any(
        c.type in ("em_open", "strong_open", "link_open", "html_inline")
        for t in em
        for c in t.children or []
    )


def test_a_report_of_a_healthy_run_is_short(suite, pytester):
    suite(
        test_a=textwrap.dedent(
            """
            def test_a(target):
                assert target.http.get("/status/200").status_code == 200
            """
        )
    )
    pytester.runpytest("--sleuth-report", "ok.md").assert_outcomes(passed=1)
    text = Path(pytester.path, "ok.md").read_text()
    tokens = parse(text)
    assert headings(tokens, "h1") == ["sleuth: 1 probe healthy on local"]
    assert headings(tokens, "h2") == []
    assert rendered_text(tokens[4]).startswith("1 passed in ")
