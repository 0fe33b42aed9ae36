# test_api.py
import pytest
from my_app import api
from my_app.config import get_setting


@pytest.mark.parametrize("endpoint, method, payload, expected_status", [
    ("/users", "POST", {"username": "testuser"}, 201),
    ("/users/123", "GET", None, 200),
    ("/items", "POST", {"name": "gadget", "price": 10.99}, 201),
])
def test_api_endpoints(endpoint, method, payload, expected_status):
    # This test actually runs against your live production environment
    # but is designed to be idempotent and non-destructive.
    response = api.call(method, endpoint, json=payload)
    assert response.status_code == expected_status


@pytest.mark.parametrize("setting_name", [
    "DATABASE_URL",
    "CACHE_HOST",
    "API_KEY",
    "FEATURE_FLAG_X",
])
def test_critical_settings_are_present(setting_name):
    # This is the crucial test for our KeyError scenario.
    setting_value = get_setting(setting_name)
    assert setting_value is not None, f"Critical setting '{setting_name}' is missing or None."
