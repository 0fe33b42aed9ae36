"""The probe suites the benchmark runs, written into a scratch directory.

Every scenario gets two twins with the same test file: a sleuth suite
(``sleuth.yaml``) and a plain pytest one whose ``conftest.py`` gives a ``target``
fixture the way people write it today (httpx.Client, os.environ). Both have a
``pytest.ini`` so pytest's rootdir is the suite, whatever lies above it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

SETTINGS = ("DATABASE_URL", "CACHE_HOST", "API_KEY", "FEATURE_FLAG_X")

PLAIN_HTTP_CONFTEST = '''\
import httpx
import pytest


class Target:
    """What the suite's tests used before sleuth: an httpx client to the app."""

    def __init__(self, client):
        self.http = client


@pytest.fixture(scope="session")
def target():
    with httpx.Client(base_url="{base_url}", timeout=30) as client:
        yield Target(client)
'''

PLAIN_SETTINGS_CONFTEST = '''\
import os

import pytest


class Target:
    """Settings straight from the environment, as a bare suite reads them."""

    def setting(self, name):
        return os.environ.get(name)


@pytest.fixture(scope="session")
def target():
    return Target()
'''

SETTINGS_TEST = f"""\
import pytest


@pytest.mark.parametrize("name", {list(SETTINGS)!r})
def test_critical_settings_are_present(target, name):
    assert target.setting(name) is not None
"""


def endpoints_test(k: int) -> str:
    """The seed-style file: one test parametrized over K paths, asserting 200."""
    paths = "".join(f'    "/p/{i}",\n' for i in range(k))
    return (
        "import pytest\n\n"
        f"PATHS = [\n{paths}]\n\n\n"
        '@pytest.mark.parametrize("path", PATHS)\n'
        "def test_endpoint_answers_200(target, path):\n"
        "    assert target.http.get(path).status_code == 200\n"
    )


def async_endpoints_test(k: int) -> str:
    """The same probes written ``async def``, on sleuth's event loop."""
    return endpoints_test(k).replace(
        "def test_endpoint_answers_200(target, path):\n"
        "    assert target.http.get(path).status_code == 200\n",
        "async def test_endpoint_answers_200(target, path):\n"
        "    assert (await target.ahttp.get(path)).status_code == 200\n",
    )


def hung_test(port: int) -> str:
    return textwrap.dedent(f"""\
        def test_dependency_answers(target):
            # Accepts the connection (the kernel does) and never answers.
            response = target.http.get("http://127.0.0.1:{port}/health")
            assert response.status_code == 200
        """)


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {"pytest.ini": "[pytest]\n", **files}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _sleuth_yaml(base_url: str | None, *, timeout: str | None = None) -> str:
    lines = ["targets:", "  bench:"]
    if base_url:
        lines.append(f"    base_url: {base_url}")
    if timeout:
        lines.append(f"    timeout: {timeout}")
    lines.append("    sources: [env]")
    return "\n".join(lines) + "\n"


def endpoint_suites(root: Path, base_url: str, k: int) -> tuple[Path, Path]:
    """(sleuth suite, plain pytest suite) running the seed-style file over K paths."""
    test = endpoints_test(k)
    sleuth = _write(
        root / f"sleuth-{k}",
        {
            "sleuth.yaml": _sleuth_yaml(base_url, timeout="30s"),
            "test_endpoints.py": test,
        },
    )
    plain = _write(
        root / f"plain-{k}",
        {
            "conftest.py": PLAIN_HTTP_CONFTEST.format(base_url=base_url),
            "test_endpoints.py": test,
        },
    )
    return sleuth, plain


def async_suite(root: Path, base_url: str, k: int) -> Path:
    """The seed-style suite with ``async def`` probes (sleuth only)."""
    return _write(
        root / f"sleuth-async-{k}",
        {
            "sleuth.yaml": _sleuth_yaml(base_url, timeout="30s"),
            "test_endpoints.py": async_endpoints_test(k),
        },
    )


def hung_suite(root: Path, base_url: str, k: int, hung_port: int) -> Path:
    """K probes that answer, plus one against a port that never answers."""
    return _write(
        root / "sleuth-hung",
        {
            "sleuth.yaml": _sleuth_yaml(base_url),
            "test_endpoints.py": endpoints_test(k),
            "test_hung.py": hung_test(hung_port),
        },
    )


def settings_suites(root: Path) -> tuple[Path, Path]:
    """(sleuth suite, bare pytest suite) checking the four critical settings."""
    sleuth = _write(
        root / "sleuth-settings",
        {"sleuth.yaml": _sleuth_yaml(None), "test_settings.py": SETTINGS_TEST},
    )
    plain = _write(
        root / "plain-settings",
        {"conftest.py": PLAIN_SETTINGS_CONFTEST, "test_settings.py": SETTINGS_TEST},
    )
    return sleuth, plain


def latency_suite(root: Path, base_url: str, k: int) -> Path:
    """The seed-style file over K paths of the server's self-timing ``/t/``."""
    return _write(
        root / f"sleuth-latency-{k}",
        {
            "sleuth.yaml": _sleuth_yaml(base_url, timeout="30s"),
            "test_endpoints.py": endpoints_test(k).replace('"/p/', '"/t/'),
        },
    )
