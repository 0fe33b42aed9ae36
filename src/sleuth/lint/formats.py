"""``sleuth lint``'s output: for people, as JSON, or as GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from sleuth.lint.findings import Finding

Format = Literal["text", "json", "github"]
FORMATS: tuple[Format, ...] = ("text", "json", "github")
JSON_VERSION = 1


def render(
    findings: Sequence[Finding], *, fmt: Format, files: int, silenced: int
) -> str:
    """The whole report (ends with a newline, or is empty)."""
    if fmt == "json":
        return (
            json.dumps(
                {
                    "version": JSON_VERSION,
                    "files": files,
                    "silenced": silenced,
                    "findings": [
                        {
                            "file": f.file,
                            "line": f.line,
                            "rule": f.rule,
                            "message": f.message,
                        }
                        for f in findings
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    if fmt == "github":
        return "".join(_annotation(f) + "\n" for f in findings)
    return _text(findings, files=files, silenced=silenced)


def _text(findings: Sequence[Finding], *, files: int, silenced: int) -> str:
    out = [f"{f.file}:{f.line}: {f.rule}: {f.message}\n" for f in findings]
    noun = "file" if files == 1 else "files"
    quiet = f", {silenced} silenced" if silenced else ""
    if findings:
        count = len(findings)
        out.append(
            f"{count} finding{'s' if count != 1 else ''} in {files} {noun}{quiet}. "
            f"Silence one on its line with '# sleuth: allow RULE'.\n"
        )
    else:
        out.append(f"{files} {noun} checked: nothing found{quiet}.\n")
    return "".join(out)


def _annotation(finding: Finding) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    file = _escape_property(finding.file)
    title = _escape_property(f"sleuth lint: {finding.rule}")
    message = _escape_data(finding.message)
    return f"::error file={file},line={finding.line},title={title}::{message}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
