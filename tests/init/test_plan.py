"""An OpenAPI document's operations as rows: the choices, one by one."""

from __future__ import annotations

from typing import Any

import pytest

from sleuth.init import openapi
from sleuth.init.auth import setting_name
from sleuth.init.spec import Spec


def spec(paths: dict[str, Any], **top: Any) -> Spec:
    swagger = top.pop("swagger", False)
    data = {"paths": paths, **top}
    version = "Swagger 2.0" if swagger else "OpenAPI 3.1.0"
    return Spec(source="t", data=data, version=version)


def only(entries: list[openapi.Entry]) -> openapi.Probe:
    (entry,) = entries
    assert isinstance(entry, openapi.Probe)
    return entry


@pytest.mark.parametrize(
    ("responses", "status"),
    [
        pytest.param({"200": {}, "404": {}}, (200,), id="one-2xx"),
        pytest.param({"204": {}, "200": {}}, (200, 204), id="several"),
        pytest.param({"2XX": {}}, "2xx", id="class"),
        pytest.param({"302": {}}, (302,), id="only-3xx"),
        pytest.param({"default": {}}, None, id="default-only"),
    ],
)
def test_the_expected_status_is_the_documented_one(responses, status):
    probe = only(openapi.plan(spec({"/a": {"get": {"responses": responses}}})))
    assert probe.status == status


def _content(*types: str) -> dict[str, Any]:
    return {"content": {kind: {} for kind in types}}


@pytest.mark.parametrize(
    ("responses", "accept"),
    [
        pytest.param({"200": _content("image/png", "image/webp")},
                     "image/png, image/webp", id="images-only"),
        pytest.param({"200": _content("application/pdf"), "404": _content("application/json")},
                     "application/pdf", id="the-expected-status-only"),
        pytest.param({"200": _content("image/png", "application/json")}, None, id="json-too"),
        pytest.param({"200": _content("application/problem+json")}, None, id="json-suffix"),
        pytest.param({"200": _content("text/csv")}, None, id="text"),
        pytest.param({"200": _content("*/*")}, None, id="anything"),
        pytest.param({"200": {}}, None, id="undocumented"),
    ],
)  # fmt: skip
def test_an_accept_header_asks_for_what_only_answers_in_other_types(responses, accept):
    probe = only(openapi.plan(spec({"/a": {"get": {"responses": responses}}})))
    assert probe.headers.get("Accept") == accept


def test_swagger_s_produces_is_the_operation_s_else_the_document_s():
    paths = {
        "/own": {"get": {"produces": ["image/png"], "responses": {"200": {}}}},
        "/doc": {"get": {"responses": {"200": {}}}},
    }
    own, doc = openapi.plan(spec(paths, swagger=True, produces=["application/pdf"]))
    assert isinstance(own, openapi.Probe)
    assert isinstance(doc, openapi.Probe)
    assert own.headers == {"Accept": "image/png"}
    assert doc.headers == {"Accept": "application/pdf"}


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("OAuth2PasswordBearer", "OAUTH2_PASSWORD_BEARER"),
        ("bearerAuth", "BEARER_AUTH"),
        ("api_key", "API_KEY"),
        ("APIKeyHeader", "API_KEY_HEADER"),
        ("petstore-auth", "PETSTORE_AUTH"),
    ],
)
def test_a_scheme_s_setting_name(name, setting):
    assert setting_name(name) == setting


def test_swagger_basic_auth_and_an_api_key_in_the_query():
    doc = spec(
        {"/a": {"get": {"security": [{"basic": [], "key": []}]}}},
        swagger=True,
        securityDefinitions={
            "basic": {"type": "basic"},
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
        },
    )
    probe = only(openapi.plan(doc))
    assert probe.headers == {"Authorization": "Basic ${setting:BASIC}"}
    assert probe.params == {"api_key": "${setting:KEY}"}
    assert probe.settings == ("BASIC", "KEY")


def test_optional_auth_sends_nothing():
    doc = spec(
        {"/a": {"get": {"security": [{}, {"k": []}]}}},
        components={"securitySchemes": {"k": {"type": "apiKey", "in": "header"}}},
    )
    assert only(openapi.plan(doc)).headers == {}


def test_an_undefined_scheme_is_a_skip_saying_so():
    probe = only(openapi.plan(spec({"/a": {"get": {"security": [{"nope": []}]}}})))
    assert probe.skip == "security scheme nope is not defined in the spec"


def test_a_required_query_parameter_without_a_value_is_a_skip():
    parameter = {"name": "q", "in": "query", "required": True, "schema": {}}
    probe = only(openapi.plan(spec({"/a": {"get": {"parameters": [parameter]}}})))
    assert probe.skip == (
        "query parameter q has no example, enum or default in the spec; fill it "
        "in and remove skip"
    )


def test_path_values_are_quoted_and_an_operation_s_parameter_wins():
    shared = [{"name": "id", "in": "path", "schema": {"example": "a b/c"}}]
    own = [{"name": "id", "in": "path", "examples": {"x": {"value": "7"}}}]
    doc = spec({"/a/{id}": {"parameters": shared, "get": {"parameters": own}}})
    assert only(openapi.plan(doc)).url == "/a/7"
    doc = spec({"/a/{id}": {"parameters": shared, "get": {}}})
    assert only(openapi.plan(doc)).url == "/a/a%20b%2Fc"


def test_two_operations_filled_to_one_request_get_names():
    enum = [{"name": "who", "in": "path", "schema": {"enum": ["me"]}}]
    entries = openapi.plan(
        spec({"/users/me": {"get": {}}, "/users/{who}": {"get": {"parameters": enum}}})
    )
    names = [e.name for e in entries if isinstance(e, openapi.Probe)]
    assert names == [None, "GET /users/me (/users/{who})"]


def test_writes_and_options_are_comments():
    doc = spec({"/a": {"post": {}, "options": {}, "head": {}}})
    kinds = [(type(e).__name__, e.method) for e in openapi.plan(doc)]
    assert kinds == [("NotProbed", "POST"), ("NotProbed", "OPTIONS"), ("Probe", "HEAD")]


@pytest.mark.parametrize(
    ("top", "url", "base"),
    [
        pytest.param(
            {"servers": [{"url": "/v1"}]},
            "http://h:1/spec.json",
            "http://h:1/v1",
            id="relative",
        ),
        pytest.param({}, "http://h:1/docs/openapi.json", "http://h:1", id="none"),
        pytest.param(
            {"servers": [{"url": "https://api.x/v2/"}]},
            None,
            "https://api.x/v2",
            id="absolute",
        ),
        pytest.param({}, None, None, id="file-without-servers"),
    ],
)
def test_the_base_url(top, url, base):
    doc = Spec(source="t", data={"paths": {}, **top}, version="OpenAPI 3.0.0", url=url)
    assert openapi.base_url(doc) == base


def test_swagger_s_host_and_base_path():
    doc = spec({}, swagger=True, host="api.x", basePath="/v1/", schemes=["http"])
    assert openapi.base_url(doc) == "http://api.x/v1"
