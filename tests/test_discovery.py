"""Finding a run's config before pytest parses its arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleuth.suite.discovery import find_config_file, may_use_http


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_config_nearest_to_the_named_tests_is_found(tmp_path):
    top = write(tmp_path / "sleuth.yaml", "targets: {}\n")
    inner = write(tmp_path / "api" / "sleuth.yaml", "targets: {}\n")
    write(tmp_path / "api" / "test_a.py", "")
    assert find_config_file(["-q"], tmp_path, None) == top
    assert find_config_file(["api/test_a.py::test_x"], tmp_path, None) == inner


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param("targets:\n  t:\n    base_url: http://x\n", True, id="base_url"),
        pytest.param("targets:\n  t:\n    sources: [env]\n", False, id="settings-only"),
        pytest.param(None, False, id="no-config"),
    ],
)
def test_http_is_expected_where_the_config_names_a_base_url(tmp_path, config, expected):
    if config is not None:
        write(tmp_path / "sleuth.yaml", config)
    assert may_use_http(["-q", "-k", "settings"], tmp_path) is expected


def test_an_explicit_config_is_the_one_read(tmp_path):
    write(tmp_path / "sleuth.yaml", "targets:\n  t: {}\n")
    write(tmp_path / "prod.yaml", "targets:\n  t:\n    base_url: http://x\n")
    assert may_use_http(["--sleuth-config", "prod.yaml"], tmp_path) is True
    assert may_use_http(["--sleuth-config=prod.yaml"], tmp_path) is True
    assert may_use_http([], tmp_path) is False


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--sleuth-config", "missing.yaml"], id="missing-file"),
        pytest.param(["--sleuth-conf", "prod.yaml"], id="abbreviation"),
        pytest.param(["--sleuth-config"], id="no-value"),
    ],
)
def test_what_cannot_be_known_counts_as_http(tmp_path, args):
    write(tmp_path / "sleuth.yaml", "targets:\n  t: {}\n")
    assert may_use_http(args, tmp_path) is True


def test_an_unreadable_config_counts_as_http(tmp_path):
    (tmp_path / "sleuth.yaml").write_bytes(b"targets: \xff\xfe\n")
    assert may_use_http([], tmp_path) is True
