"""Suites written for the lint tests, and secrets built at run time.

The secrets are assembled here rather than written whole, so that this
repository holds no string a secret scanner (or sleuth lint) would flag.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's own documentation example
GITHUB_TOKEN = "ghp_" + "a1B2" * 9
SLACK_TOKEN = "xoxb-" + "1234567890-abcdefghij"
STRIPE_KEY = "sk_" + "live_" + "0aB1" * 6
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----"
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "s" * 20
PASSWORD = "hunter2-" + "not-real"
CONFIG = """\
default_target: prod
timeout: 2s
targets:
  prod:
    base_url: https://api.example.com
"""


def write_suite(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (path -> text, dedented) under ``root``; a sleuth.yaml
    pointing at api.example.com unless one is given."""
    files = {"sleuth.yaml": CONFIG, **files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root
