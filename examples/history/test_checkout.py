from __future__ import annotations


def test_feature_flag_x_is_on(target):
    assert target.setting("FEATURE_FLAG_X") == "on"


def test_api_key_is_set(target):
    assert target.setting("API_KEY")
