"""The seed's probes, rewritten to use `target` instead of the app's own modules.

The POSTs change the target, so they are marked @pytest.mark.writes and run only
with --allow-writes; without it they are refused before anything is sent.
"""

import pytest


@pytest.mark.writes
@pytest.mark.parametrize("endpoint, method, payload, expected_status", [
    ("/users", "POST", {"username": "testuser"}, 201),
    ("/users/123", "GET", None, 200),
    ("/items", "POST", {"name": "gadget", "price": 10.99}, 201),
])
def test_api_endpoints(target, endpoint, method, payload, expected_status):
    response = target.http.request(method, endpoint, json=payload)
    assert response.status_code == expected_status


@pytest.mark.parametrize("setting_name", [
    "DATABASE_URL",
    "CACHE_HOST",
    "API_KEY",
    "FEATURE_FLAG_X",
])
def test_critical_settings_are_present(target, setting_name):
    setting_value = target.setting(setting_name)
    assert setting_value is not None, f"Critical setting '{setting_name}' is missing or None."
