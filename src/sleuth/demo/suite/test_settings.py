from __future__ import annotations

import pytest


@pytest.mark.settings  # a tag: other probes can say they need these
@pytest.mark.parametrize(
    "setting_name", ["DATABASE_URL", "CACHE_HOST", "API_KEY", "FEATURE_FLAG_X"]
)
def test_critical_settings_are_present(target, setting_name):
    value = target.setting(setting_name)
    assert value is not None, f"Critical setting '{setting_name}' is missing or None."
