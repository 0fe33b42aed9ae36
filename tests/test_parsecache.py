"""sleuth.yaml's parse is kept in .sleuth/ and reused only while nothing changed."""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sleuth.errors import ConfigError
from sleuth.suite import parsecache, yamlfile
from sleuth.suite.config import load_suite_config

CONFIG = "targets:\n  prod:\n    base_url: http://127.0.0.1:9\n    timeout: 2s\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / ".sleuth").mkdir()
    path = tmp_path / "sleuth.yaml"
    path.write_text(CONFIG)
    return path


def test_a_second_load_reads_the_kept_parse(config, monkeypatch):
    first = yamlfile.load(config, display="sleuth.yaml", keep=True)
    assert parsecache.entry_path(config).is_file()

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(yamlfile, "loads", no_parsing)
    data, lines = yamlfile.load(config, display="sleuth.yaml", keep=True)
    assert data == first[0]
    assert lines.by_path() == first[1].by_path()
    assert lines.where(("targets", "prod", "timeout")) == "sleuth.yaml line 4"


def test_any_change_to_the_text_is_a_miss(config):
    yamlfile.load(config, keep=True)
    config.write_text(CONFIG.replace("2s", "3s"))
    data, _ = yamlfile.load(config, keep=True)
    assert data["targets"]["prod"]["timeout"] == "3s"


def test_a_change_to_the_parsing_code_is_a_miss(config, monkeypatch):
    yamlfile.load(config, keep=True)
    assert parsecache.recall(config, CONFIG) is not None
    monkeypatch.setattr(parsecache, "FORMAT", parsecache.FORMAT + 1)
    assert parsecache.recall(config, CONFIG) is None


def test_an_entry_of_another_file_is_a_miss(config, tmp_path):
    yamlfile.load(config, keep=True)
    other = tmp_path / "copy" / "sleuth.yaml"
    (other.parent / ".sleuth").mkdir(parents=True)
    other.write_text(CONFIG)
    parsecache.entry_path(other).write_bytes(parsecache.entry_path(config).read_bytes())
    assert parsecache.recall(other, CONFIG) is None


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01junk", b"\xe9" * 40])
def test_a_damaged_entry_is_parsed_again_and_replaced(config, garbage):
    parsecache.entry_path(config).write_bytes(garbage)
    data, _ = yamlfile.load(config, keep=True)
    assert data["targets"]["prod"]["timeout"] == "2s"
    assert parsecache.recall(config, CONFIG) is not None


def test_values_marshal_cannot_hold_are_parsed_each_time(config):
    config.write_text("checked_on: 2026-11-27\n")
    data, _ = yamlfile.load(config, keep=True)
    assert data == {"checked_on": _dt.date(2026, 11, 27)}
    assert not parsecache.entry_path(config).exists()


def test_no_sleuth_directory_is_made_for_it(tmp_path):
    config = tmp_path / "sleuth.yaml"
    config.write_text(CONFIG)
    yamlfile.load(config, keep=True)
    assert not (tmp_path / ".sleuth").exists()


def test_an_entry_that_cannot_be_written_only_means_parsing(config):
    # A directory where the entry goes: the write fails for root too, as it
    # would for anyone on a read-only disk.
    parsecache.entry_path(config).mkdir()
    data, _ = yamlfile.load(config, keep=True)
    assert data["targets"]["prod"]["timeout"] == "2s"
    # Nothing half-written is left beside it.
    assert [p.name for p in config.parent.joinpath(".sleuth").iterdir()] == [
        "sleuth.yaml.parsed"
    ]
    assert parsecache.entry_path(config).is_dir()


def test_errors_from_a_kept_parse_name_the_same_line(config):
    config.write_text(CONFIG.replace("timeout", "timout"))
    messages = []
    for _ in range(2):
        with pytest.raises(ConfigError) as caught:
            load_suite_config(config)
        messages.append(str(caught.value))
    assert parsecache.recall(config, config.read_text()) is not None
    assert messages[0] == messages[1]
    assert "line 4" in messages[1]


def test_yaml_syntax_errors_are_not_kept(config):
    config.write_text("targets: [\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"line 2, column 1: invalid YAML"):
            yamlfile.load(config, keep=True)
    assert not parsecache.entry_path(config).exists()


def test_a_rerun_does_not_import_pyyaml(tmp_path):
    (tmp_path / "sleuth.yaml").write_text("targets:\n  t:\n    sources: [env]\n")
    (tmp_path / "test_yaml.py").write_text(
        textwrap.dedent("""
        import sys


        def test_setting(target):
            assert target.setting("PATH")
            with open("yaml_loaded", "a") as f:
                f.write(f"{'yaml' in sys.modules}\\n")
        """)
    )
    for _ in range(3):  # the first run makes .sleuth/, the second keeps the parse
        done = subprocess.run(
            [sys.executable, "-m", "sleuth", "run", "-q", "-p", "no:cacheprovider"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "yaml_loaded").read_text().split() == ["True", "True", "False"]
