"""Probes that call the app's settings function themselves (the seed article's
``from my_app.config import get_setting``): sleuth sees each lookup for the
run, the probe sees the function unchanged, and afterwards it is the app's own
function again everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CONFIG = """
    targets:
      prod:
        timeout: 5s
        sources:
          - env
          - app: app.config:get_setting
"""

APP = """
    class Token:
        '''Not a string: the probe must get this very object back.'''

    VALUES = {"HOST": "db.internal", "TOKEN_OBJECT": Token()}


    class Unreadable(Exception):
        pass


    def get_setting(name):
        if name == "BROKEN":
            raise Unreadable("the vault is sealed")
        if name == "STRICT":
            raise KeyError(name)
        return VALUES.get(name)
"""

PROBES = """
    import pytest

    import app.config
    from app.config import get_setting


    def test_missing_flag():
        assert get_setting("FEATURE_FLAG_X") is not None


    def test_same_value_and_object():
        assert get_setting("HOST") == "db.internal"
        assert get_setting("TOKEN_OBJECT") is app.config.VALUES["TOKEN_OBJECT"]


    def test_same_exceptions():
        with pytest.raises(app.config.Unreadable, match="the vault is sealed"):
            get_setting("BROKEN")
        with pytest.raises(KeyError):
            get_setting("STRICT")


    def test_by_keyword():
        assert get_setting(name="HOST") == "db.internal"


    async def test_from_an_async_probe():
        assert get_setting("HOST") == "db.internal"
"""

# Runs pytest in this process, then says what `get_setting` was during the
# run and after it. The original is held in a dict: a module global would be
# one of the references sleuth swaps.
DRIVER = """
    import json
    import sys

    import pytest

    import app.config

    held = {"original": app.config.get_setting}
    seen = {}


    class Witness:
        def pytest_sessionfinish(self):
            test_module = sys.modules["test_direct"]
            seen["during"] = {
                "module attribute": app.config.get_setting is held["original"],
                "test module": test_module.get_setting is held["original"],
            }


    code = pytest.main(sys.argv[1:], plugins=[Witness()])
    seen["after"] = {
        "module attribute": app.config.get_setting is held["original"],
        "test module": sys.modules["test_direct"].get_setting is held["original"],
    }
    seen["outside a probe"] = app.config.get_setting("HOST")
    seen["code"] = int(code)
    print("WITNESS " + json.dumps(seen))
"""


@pytest.fixture
def app_suite(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    suite = tmp_path / "suite"
    (suite / "app").mkdir(parents=True)
    (suite / "app" / "__init__.py").write_text("")
    (suite / "app" / "config.py").write_text(textwrap.dedent(APP))
    (suite / "sleuth.yaml").write_text(textwrap.dedent(CONFIG))
    (suite / "test_direct.py").write_text(textwrap.dedent(PROBES))
    (suite / "driver.py").write_text(textwrap.dedent(DRIVER))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLEUTH_")}
    # The app, and the sleuth this test imports (as tests/history/test_run.py).
    env["PYTHONPATH"] = os.pathsep.join([str(suite), *sys.path])
    env["FEATURE_FLAG_Y"] = "on"  # a close name, in the target's env source
    return suite, env


def test_the_app_function_is_seen_unchanged_and_put_back(app_suite):
    suite, env = app_suite
    result = subprocess.run(
        [sys.executable, "driver.py", "-p", "no:cacheprovider", "-rA",
         "--sleuth-json=out/sleuth.json", "--junitxml=out/junit.xml"],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert "1 failed, 4 passed" in out, out
    # The miss, diagnosed from the probe's own call: where, and close names.
    assert (
        "setting FEATURE_FLAG_X: missing. Looked in app app.config:get_setting: "
        "absent (returned None). Close names that exist: FEATURE_FLAG_Y (environment)."
    ) in out
    witness = json.loads(out.split("WITNESS ", 1)[1])
    assert witness == {
        "during": {"module attribute": False, "test module": False},
        "after": {"module attribute": True, "test module": True},
        "outside a probe": "db.internal",
        "code": 1,
    }
    probes = {
        p["name"]: p["evidence"]["settings"]
        for p in json.loads((suite / "out" / "sleuth.json").read_text())["probes"]
    }
    assert [s["name"] for s in probes["test_same_value_and_object"]] == [
        "HOST",
        "TOKEN_OBJECT",
    ]
    assert [
        (s["name"], s["state"], s["answers"][0]["detail"])
        for s in probes["test_same_exceptions"]
    ] == [
        ("BROKEN", "absent", "Unreadable: the vault is sealed"),
        ("STRICT", "absent", "raised KeyError"),
    ]
    assert [s["name"] for s in probes["test_by_keyword"]] == ["HOST"]
    assert [s["name"] for s in probes["test_from_an_async_probe"]] == ["HOST"]
    assert probes["test_missing_flag"][0]["close_names"] == [
        "FEATURE_FLAG_Y (environment)"
    ]


def test_without_an_app_source_nothing_is_swapped(app_suite):
    suite, env = app_suite
    (suite / "sleuth.yaml").write_text("targets:\n  prod:\n    sources: [env]\n")
    result = subprocess.run(
        [sys.executable, "driver.py", "-p", "no:cacheprovider", "-rA"],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = result.stdout
    assert "1 failed, 4 passed" in out, out
    assert "Looked in app" not in out
    witness = json.loads(out.split("WITNESS ", 1)[1])
    assert witness["during"] == {"module attribute": True, "test module": True}
