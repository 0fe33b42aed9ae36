from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import sleuth
from tests.conftest import packages_loaded_by


def test_all_is_sorted_and_complete():
    assert sleuth.__all__ == sorted(sleuth.__all__)
    for name in sleuth.__all__:  # some load on first use: they must resolve
        assert getattr(sleuth, name) is not None
    eager = {
        name
        for name, value in vars(sleuth).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__
    }
    assert eager <= set(sleuth.__all__)
    assert {"secret", "Secret", "Target", "Response"} <= set(sleuth.__all__)


def test_target_and_response_are_the_objects_probes_get():
    from sleuth.http.response import Response
    from sleuth.target import Target

    assert sleuth.Target is Target
    assert sleuth.Response is Response


def test_importing_sleuth_loads_target_and_response_only_when_asked():
    code = (
        "import sys, sleuth\n"
        "assert 'sleuth.target' not in sys.modules, 'target'\n"
        "assert 'sleuth.http.response' not in sys.modules, 'response'\n"
        "assert 'typing' not in sys.modules, 'typing costs ~8 ms'\n"
        "sleuth.Target, sleuth.Response\n"
        "assert 'sleuth.target' in sys.modules\n"
    )
    # Without coverage's subprocess patch (make test), which imports typing
    # itself before sleuth is imported.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert sleuth.__version__ == version("sleuth")


def test_importing_sleuth_and_its_plugin_loads_no_client_library():
    heavy = {"aiohttp", "sqlalchemy", "rich", "psycopg", "redis", "starlette", "httpx"}
    heavy |= {"pydantic", "pydantic_settings"}
    assert packages_loaded_by("import sleuth, sleuth.plugin", {*heavy, "yaml"}) == []


def test_an_error_building_a_helper_is_not_reported_as_a_missing_attribute(monkeypatch):
    import sleuth.target
    from sleuth.engine import Engine
    from sleuth.errors import SleuthError
    from sleuth.suite.config import empty_suite_config
    from sleuth.suite.options import resolve

    options = resolve(empty_suite_config(Path(".")), cli={}, environ={})
    target = sleuth.target.Target(options, Engine(workers=1))

    def broken(*args, **kwargs):
        raise AttributeError("partially initialized module 'x' has no attribute 'y'")

    monkeypatch.setattr(sleuth.target, "SettingsResolver", broken)
    with pytest.raises(SleuthError) as caught:
        target.setting("A")
    assert str(caught.value) == (
        "target.settings could not be built: AttributeError: partially "
        "initialized module 'x' has no attribute 'y'"
    )
