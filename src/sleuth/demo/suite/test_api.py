from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "endpoint, expected_status",
    [
        ("/health", 200),
        ("/users/123", 200),
        ("/items", 200),
        # /orders reads the settings: if one is missing, its failure is a
        # consequence, and sleuth reports it as blocked, not as another cause.
        pytest.param("/orders", 200, marks=pytest.mark.needs("settings")),
        ("/search?q=gadget", 200),
    ],
)
def test_api_endpoints(target, endpoint, expected_status):
    # Read-only: GET never changes the shop. A POST would be refused unless
    # the probe is marked @pytest.mark.writes and the run has --allow-writes.
    response = target.http.get(endpoint)
    assert response.status_code == expected_status
