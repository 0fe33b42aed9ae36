"""A missing setting says where it was looked for and what is close; never a value."""

from __future__ import annotations

SETTINGS_SUITE = """
    targets:
      prod:
        sources:
          - env: {prefix: SHOPX_}
          - dotenv: deploy.env
          - file: config.yaml
          - dir: secrets
          - app: shop_app.config:get_setting
"""

SEED_SETTINGS = """
import pytest

@pytest.mark.parametrize("setting_name", ["DATABASE_URL", "CACHE_HOST", "API_KEY", "FEATURE_FLAG_X", "database.pool"])
def test_critical_settings_are_present(target, setting_name):
    setting_value = target.setting(setting_name)
    assert setting_value is not None, f"Critical setting '{setting_name}' is missing or None."
"""


def make_settings_suite(pytester):
    pytester.makefile(".yaml", sleuth=SETTINGS_SUITE)
    pytester.path.joinpath("deploy.env").write_text(
        "DATABASE_URL=postgresql://app:dotenv-pw-417@db/orders\nFEATURE_FLAGX=on\n"
    )
    pytester.path.joinpath("config.yaml").write_text("database:\n  pool: 5\n")
    secrets = pytester.path / "secrets"
    secrets.mkdir()
    secrets.joinpath("API_KEY").write_text("dir-key-9931\n")
    app = pytester.path / "shop_app"
    app.mkdir()
    app.joinpath("__init__.py").write_text("")
    app.joinpath("config.py").write_text(
        "def get_setting(name):\n    return {'CACHE_HOST': 'cache.internal'}.get(name)\n"
    )
    pytester.makepyfile(test_settings=SEED_SETTINGS)


def test_missing_setting_failure_lists_every_source_and_close_names(pytester):
    make_settings_suite(pytester)
    result = pytester.runpytest("-rA", "--showlocals")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: Critical setting 'FEATURE_FLAG_X' is missing or None.*",
            "*- sleuth evidence -*",
            "setting FEATURE_FLAG_X: missing. Looked in environment (prefix SHOPX_): absent; "
            "dotenv deploy.env: absent; file config.yaml: absent; dir secrets: absent; "
            "app shop_app.config:get_setting: absent (returned None). "
            "Close names that exist: FEATURE_FLAGX (dotenv deploy.env).",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*what failed:*",
            "*test_critical_settings_are_present?FEATURE_FLAG_X?*",
            "*FEATURE_FLAG_X: missing. Looked in environment (prefix SHOPX_): absent;*",
        ]
    )
    # The failing probe's values are not shown; passing ones are not shown either.
    assert "dotenv-pw-417" not in result.stdout.str()
    assert "dir-key-9931" not in result.stdout.str()


def test_settings_suite_runs_with_sleuth_run_k_settings(pytester):
    make_settings_suite(pytester)
    result = pytester.runpytest("-k", "FEATURE or CACHE")
    result.assert_outcomes(passed=1, failed=1)


def test_secret_sources_and_configured_words(pytester):
    pytester.makefile(
        ".yaml",
        sleuth="""
        secret_words: [PIN]
        not_secret: [CACHE_KEY_PREFIX]
        targets:
          prod:
            sources:
              - dotenv: {path: prod.env, secret: true}
              - dotenv: plain.env
        """,
    )
    pytester.path.joinpath("prod.env").write_text("REGION_NAME=eu-west-shadow-1\n")
    pytester.path.joinpath("plain.env").write_text(
        "DOOR_PIN=48151623\nCACHE_KEY_PREFIX=shop-cache-v2\n"
    )
    pytester.makepyfile(
        test_s="""
        def test_s(target):
            values = [target.setting(n) for n in ("REGION_NAME", "DOOR_PIN", "CACHE_KEY_PREFIX")]
            print("values:", *values)
            assert values == []
        """
    )
    result = pytester.runpytest_subprocess("-rA")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "values: *** *** shop-cache-v2" in out
    assert "eu-west-shadow-1" not in out
    assert "48151623" not in out
