"""The app's pydantic-settings model as a settings source, end to end.

A real model module (env prefix, dotenv file, secrets dir, nested delimiter,
alias, every field kind) read the way the app reads it; invalid values come
from each of its sources. No value, valid or not, appears in any output.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from sleuth.settings import SettingsResolver, build_source
from sleuth.suite.sources import SourceSpec
from tests.plugin.tables_helpers import records, with_records, write_table

MODEL = """
    import enum

    from pydantic import AnyHttpUrl, BaseModel, Field, PostgresDsn, SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict


    class Level(str, enum.Enum):
        debug = "debug"
        info = "info"


    class Cache(BaseModel):
        host: str = "localhost"
        port: int = 6379
        password: str = "changeme"


    class Settings(BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="SHOP_",
            env_file="shop.env",
            secrets_dir="shop_secrets",
            env_nested_delimiter="__",
        )

        name: str
        port: int = 8080
        api_url: AnyHttpUrl
        database_url: PostgresDsn
        level: Level = Level.info
        cache: Cache = Cache()
        merchant_ref: SecretStr
        feature: str = Field("off", validation_alias="FEATURE_FLAG_X")
        workers: int = 4
        retries: int = 3
        region: str
        signing_salt: str = "default-salt-0000"
"""

# Every value planted; none may appear in any output.
VALUES = {
    "name": "shop-name-5f1a",
    "database_url": "postgresql://app:model-dbpw-77c1@127.0.0.1:5432/orders",
    "merchant_ref": "merchant-ref-9e2b41",
    "cache_password": "cache-pw-3a7d19",
    "bad_port": "port-bad-6c2e",  # invalid, from the dotenv file
    "bad_level": "level-bad-0d9f",  # invalid, from the environment
    "bad_workers": "workers-bad-81aa",  # invalid, from the secrets dir
    "feature": "feature-on-2b6c",
}

SUITE = """
    targets:
      prod:
        sources:
          - env
          - model: shop_app.settings:Settings
"""


def write_app(root: Path) -> None:
    package = root / "shop_app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent(MODEL))
    (root / "shop.env").write_text(
        f"SHOP_NAME={VALUES['name']}\n"
        f"SHOP_PORT={VALUES['bad_port']}\n"
        "SHOP_API_URL=https://api.internal/v1\n"
        f"SHOP_CACHE__PASSWORD={VALUES['cache_password']}\n"
        f"FEATURE_FLAG_X={VALUES['feature']}\n"
    )
    secrets = root / "shop_secrets"
    secrets.mkdir()
    (secrets / "shop_merchant_ref").write_text(VALUES["merchant_ref"])
    (secrets / "shop_workers").write_text(VALUES["bad_workers"])


APP_MODULES = {"shop_app", "eager_app", "validated_app", "plain_app"}


@pytest.fixture(autouse=True)
def _forget_the_apps(monkeypatch):
    """The apps written here are imported in this process: forgotten after each
    test, so a later test's app of the same name is imported afresh."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in list(sys.modules):
        if name.partition(".")[0] in APP_MODULES:
            del sys.modules[name]


@pytest.fixture
def app_env(monkeypatch):
    monkeypatch.setenv("SHOP_DATABASE_URL", VALUES["database_url"])
    monkeypatch.setenv("SHOP_LEVEL", VALUES["bad_level"])
    monkeypatch.setenv("SHOP_RETRIES", "5")
    monkeypatch.delenv("SHOP_REGION", raising=False)


def model_source(root: Path):
    spec = SourceSpec(
        kind="model",
        location="shop_app.settings:Settings",
        options={},
        where="sleuth.yaml line 5",
    )
    return build_source(spec, root=root)


def test_each_field_is_present_missing_or_invalid_with_its_source(
    tmp_path, monkeypatch, app_env
):
    write_app(tmp_path)
    monkeypatch.chdir(tmp_path)  # the model's env_file and secrets_dir, as the app
    source = model_source(tmp_path)
    seen = {
        name: (found.state, found.detail)
        for name in source.names()
        for found in [source.lookup(name)]
    }
    assert seen == {
        "name": ("present", "from dotenv shop.env"),
        "port": (
            "error",
            "invalid (from dotenv shop.env): Input should be a valid integer, "
            "unable to parse string as an integer; expected int",
        ),
        "api_url": ("present", "from dotenv shop.env"),
        "database_url": ("present", "from environment"),
        "level": (
            "error",
            "invalid (from environment): Input should be 'debug' or 'info'; "
            "expected Level",
        ),
        "cache": ("present", "from dotenv shop.env"),
        "cache.host": ("present", "from default"),
        "cache.port": ("present", "from default"),
        "cache.password": ("present", "from dotenv shop.env"),
        "merchant_ref": ("present", "from secrets dir shop_secrets"),
        "feature": ("present", "from dotenv shop.env"),
        "workers": (
            "error",
            "invalid (from secrets dir shop_secrets): Input should be a valid "
            "integer, unable to parse string as an integer; expected int",
        ),
        "retries": ("present", "from environment"),
        "region": (
            "absent",
            "required str, not set (looked for SHOP_REGION in environment, "
            "dotenv shop.env, secrets dir shop_secrets)",
        ),
        "signing_salt": ("present", "from default"),
    }
    # Valid fields are validated even though the model as a whole failed.
    assert source.lookup("retries").value == 5
    assert source.lookup("merchant_ref").value == VALUES["merchant_ref"]
    assert source.lookup("merchant_ref").secret  # SecretStr
    assert source.lookup("api_url").value == "https://api.internal/v1"
    # Names the app's environment uses: env names, aliases, nested ones.
    assert source.lookup("SHOP_RETRIES").value == 5
    assert source.lookup("shop_retries").value == 5  # not case-sensitive
    assert source.lookup("FEATURE_FLAG_X").value == VALUES["feature"]
    assert source.lookup("SHOP_CACHE__PASSWORD").value == VALUES["cache_password"]
    assert source.lookup("NOT_A_FIELD").state == "absent"
    assert source.default_text("signing_salt") == "default-salt-0000"
    assert source.default_text("region") is None
    for name, value in VALUES.items():
        assert all(value not in detail for _, detail in seen.values()), name


def test_values_from_the_model_are_told_to_the_secret_registry(
    tmp_path, monkeypatch, app_env
):
    write_app(tmp_path)
    monkeypatch.chdir(tmp_path)
    told = {}

    def on_value(name, value, source):
        told[name] = (value, source.is_secret)

    resolver = SettingsResolver([model_source(tmp_path)], on_value=on_value)
    assert resolver.lookup("merchant_ref")[0] == VALUES["merchant_ref"]
    assert resolver.lookup("name")[0] == VALUES["name"]
    assert resolver.lookup("port")[0] is None  # invalid: no value
    assert told == {
        # SecretStr and from a secrets dir: a secret whatever the name says.
        "merchant_ref": (VALUES["merchant_ref"], True),
        "name": (VALUES["name"], False),
    }


def test_a_model_that_cannot_be_imported_says_why(tmp_path):
    spec = SourceSpec(
        kind="model", location="no_such_app.settings:Settings", options={}, where="x"
    )
    found = SettingsResolver([build_source(spec, root=tmp_path)]).lookup("port")[1]
    assert found.answers[0].broken == (
        "cannot be imported (ModuleNotFoundError: No module named 'no_such_app')"
    )


def test_a_class_that_is_not_a_settings_model_is_refused(tmp_path):
    (tmp_path / "plain_app.py").write_text("class Settings:\n    port = 1\n")
    spec = SourceSpec(
        kind="model", location="plain_app:Settings", options={}, where="x"
    )
    answer = SettingsResolver([build_source(spec, root=tmp_path)]).lookup("port")[1]
    assert answer.answers[0].broken == (
        "is not a pydantic-settings model: Settings is not a subclass of "
        "pydantic_settings.BaseSettings"
    )


def test_a_module_that_builds_its_settings_at_import_never_shows_the_value(
    tmp_path, monkeypatch
):
    (tmp_path / "eager_app.py").write_text(
        textwrap.dedent("""
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            eager_port: int

        settings = Settings()
        """)
    )
    monkeypatch.setenv("EAGER_PORT", "eager-secret-4f1c")
    spec = SourceSpec(
        kind="model", location="eager_app:Settings", options={}, where="x"
    )
    answer = SettingsResolver([build_source(spec, root=tmp_path)]).lookup("port")[1]
    assert answer.answers[0].broken == (
        "cannot be imported (ValidationError at import: eager_port: int_parsing)"
    )


TABLE = """
settings:
  model: shop_app.settings:Settings
"""

PROBES = """
def test_reads_a_field(target):
    ref = target.setting("merchant_ref")
    print("merchant ref is", ref)
    assert ref == "something-else"


def test_reads_a_nested_field_by_its_env_name(target):
    password = target.setting("SHOP_CACHE__PASSWORD")
    assert password == "nope", password


def test_checks_the_default_as_a_placeholder(target):
    target.check_setting("signing_salt", not_placeholder=True)
"""


def test_a_model_row_makes_one_probe_per_field(pytester, monkeypatch, app_env):
    pytester.makefile(".yaml", sleuth=textwrap.dedent(SUITE))
    write_app(pytester.path)
    write_table(pytester, TABLE, name="model")
    pytester.makepyfile(test_probes=PROBES)
    with_records(pytester)
    result = pytester.runpytest(
        "-rA",
        "--showlocals",
        "--junitxml=out/junit.xml",
        "--sleuth-json=out/sleuth.json",
    )
    outcomes = {k.split("::")[1]: v["outcome"] for k, v in records(pytester).items()}
    assert outcomes == {
        "setting Settings": "failed",  # the model as a whole, as the app builds it
        "setting Settings.name": "passed",
        "setting Settings.port": "failed",
        "setting Settings.api_url": "passed",
        "setting Settings.database_url": "passed",
        "setting Settings.level": "failed",
        "setting Settings.cache": "passed",
        "setting Settings.merchant_ref": "passed",
        "setting Settings.feature": "passed",
        "setting Settings.workers": "failed",
        "setting Settings.retries": "passed",
        "setting Settings.region": "failed",
        "setting Settings.signing_salt": "passed",
        "test_reads_a_field": "failed",
        "test_reads_a_nested_field_by_its_env_name": "failed",
        "test_checks_the_default_as_a_placeholder": "failed",
    }
    result.stdout.fnmatch_lines_random(
        [
            "CheckFailed: port (model shop_app.settings:Settings): invalid (from "
            "dotenv shop.env): Input should be a valid integer, unable to parse "
            "string as an integer; expected int",
            "CheckFailed: level (model shop_app.settings:Settings): invalid (from "
            "environment): Input should be 'debug' or 'info'; expected Level",
            "CheckFailed: workers (model shop_app.settings:Settings): invalid (from "
            "secrets dir shop_secrets): Input should be a valid integer, unable to "
            "parse string as an integer; expected int",
            "CheckFailed: region (model shop_app.settings:Settings): missing: "
            "required str, not set (looked for SHOP_REGION in *)",
            "*CheckFailed: signing_salt: present but is still the settings model's "
            "default (not_placeholder) (from model shop_app.settings:Settings)",
            "CheckFailed: model shop_app.settings:Settings: the app's Settings() "
            "would raise: port invalid; level invalid; workers invalid; region "
            "missing",
            "merchant ref is ***",
            "*assert '***' == 'nope'*",
        ]
    )
    sleuth_json = json.loads((pytester.path / "out/sleuth.json").read_text())
    text = json.dumps(sleuth_json)
    read = {s["name"]: (s["source"], s["state"]) for s in sleuth_json["settings"]}
    assert read["merchant_ref"] == ("model shop_app.settings:Settings", "present")
    assert read["workers"] == (None, "absent")
    assert "from secrets dir shop_secrets" in text  # the probe's evidence
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "junit": (pytester.path / "out/junit.xml").read_text(),
        "json": text,
    }
    for where, data in outputs.items():
        for kind, value in VALUES.items():
            assert value not in data, (where, kind)
        assert "input_value" not in data, where


def test_a_model_row_whose_class_cannot_be_imported_fails_its_one_probe(pytester):
    pytester.makefile(".yaml", sleuth="targets: {prod: {sources: [env]}}\n")
    write_table(pytester, "settings: {model: gone_app.settings:Settings}\n", "m")
    result = pytester.runpytest("-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*CheckFailed: model gone_app.settings:Settings (m.yaml line 1) cannot be "
            "imported (ModuleNotFoundError: No module named 'gone_app')",
        ]
    )


VALIDATED = """
    from pydantic import field_validator, model_validator
    from pydantic_settings import BaseSettings, SettingsConfigDict


    class Coded(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="VAL_")
        code: str = "a"

        @field_validator("code")
        @classmethod
        def known(cls, value):
            raise ValueError(f"unknown code {value}")


    class Ordered(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="VAL_")
        low: int = 1
        high: int = 2

        @model_validator(mode="after")
        def in_order(self):
            if self.low > self.high:
                raise ValueError(f"low {self.low} is above high {self.high}")
            return self
"""


def test_the_apps_validators_are_reported_without_what_they_quote(
    tmp_path, monkeypatch
):
    (tmp_path / "validated_app.py").write_text(textwrap.dedent(VALIDATED))
    monkeypatch.setenv("VAL_CODE", "code-secret-4411")
    monkeypatch.setenv("VAL_LOW", "9131")
    monkeypatch.setenv("VAL_HIGH", "3")

    def built(name):
        spec = SourceSpec(
            kind="model", location=f"validated_app:{name}", options={}, where="x"
        )
        return build_source(spec, root=tmp_path)

    coded = built("Coded")
    assert coded.lookup("code").detail == (
        "invalid (from environment): rejected by the model's validator "
        "(value_error); expected str"
    )
    ordered = built("Ordered")
    assert ordered.lookup("low").state == "present"  # each field is valid
    assert ordered.build().problems() == [
        "the model: rejected by the model's validator (value_error)"
    ]


def test_without_pydantic_settings_the_install_hint_is_given(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydantic_settings", None)
    lookup = SettingsResolver([model_source(tmp_path)]).lookup("port")[1]
    assert lookup.describe() == (
        "port: missing. Looked in model shop_app.settings:Settings: needs the "
        "'pydantic-settings' package. Install it with: pip install "
        "'sleuth[pydantic]' (see likely root causes)."
    )


def test_an_invalid_value_is_not_called_missing(tmp_path, monkeypatch, app_env):
    write_app(tmp_path)
    monkeypatch.chdir(tmp_path)
    lookup = SettingsResolver([model_source(tmp_path)]).lookup("workers")[1]
    said = lookup.describe()
    assert said.startswith("workers: no valid value. Looked in model "), said
    assert "invalid (from secrets dir" in said
    assert VALUES["bad_workers"] not in said


DOCS = Path(__file__).parents[2] / "docs"


def doc_block(language: str, first_line: str) -> str:
    """The fenced block of docs/settings.md in ``language`` starting so."""
    blocks: list[tuple[str, list[str]]] = []
    lines: list[str] | None = None
    for line in (DOCS / "settings.md").read_text().splitlines():
        if line.startswith("```"):
            if lines is None:
                lines = []
                blocks.append((line[3:].strip(), lines))
            else:
                lines = None
        elif lines is not None:
            lines.append(line)
    for info, body in blocks:
        text = "\n".join(body) + "\n"
        if info == language and text.startswith(first_line):
            return text
    raise AssertionError(f"no {language} block starting {first_line!r}")


def test_the_docs_example_runs_as_shown(pytester, monkeypatch):
    for name in ("SHOP_REGION", "SHOP_WORKERS", "SHOP_STRIPE_KEY"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "shop_app").mkdir()
    (pytester.path / "shop_app" / "__init__.py").write_text("")
    (pytester.path / "shop_app" / "settings.py").write_text(
        doc_block("python", "# shop_app/settings.py")
    )
    (pytester.path / "sleuth.yaml").write_text(
        doc_block(
            "yaml", "# sleuth.yaml\ntargets:\n  prod:\n    sources:\n      - env\n"
        )
    )
    (pytester.path / "probes").mkdir()
    (pytester.path / "probes" / "settings.yaml").write_text(
        doc_block("yaml", "# probes/settings.yaml\nsettings:\n  model:")
    )
    (pytester.path / "deploy.env").write_text(
        doc_block("dotenv", "# deploy.env\nSHOP_")
    )
    (pytester.path / "secrets").mkdir()
    (pytester.path / "secrets" / "shop_stripe_key").write_text("sk_live_doc_8a1f")
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=3, failed=3)
    shown = doc_block("", "what failed:\n  probes/settings.yaml::setting Settings\n")
    result.stdout.fnmatch_lines(shown.splitlines())
    result.stdout.fnmatch_lines(
        ["PASSED probes/settings.yaml::setting Settings.stripe_key"]
    )
    assert "sk_live_doc_8a1f" not in result.stdout.str()
    assert "s3cret" not in result.stdout.str()


def test_a_model_source_is_written_as_a_class_and_may_be_marked_secret(tmp_path):
    from sleuth.suite import yamlfile
    from sleuth.suite.sources import build_source_specs

    data, lines = yamlfile.loads(
        "sources:\n"
        "  - model: shop_app.settings:Settings\n"
        "  - model: {class: shop_app.settings:Settings, secret: true}\n",
        display="sleuth.yaml",
    )
    plain, secret = build_source_specs(data["sources"], ("sources",), lines)
    assert (plain.kind, plain.location, plain.is_secret) == (
        "model",
        "shop_app.settings:Settings",
        False,
    )
    assert (secret.location, secret.is_secret) == ("shop_app.settings:Settings", True)
    assert build_source(secret, root=tmp_path).is_secret


def test_a_model_row_is_checked_where_it_is_written(tmp_path):
    from sleuth.errors import ConfigError
    from sleuth.rows import load_table

    table = tmp_path / "model.yaml"
    table.write_text(
        "settings:\n  model: {class: shop_app.settings:Settings, only: x}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_table(table, display="model.yaml", environ={}, root=tmp_path)
    assert "model.yaml line 2" in str(caught.value)
    assert "'only'" in str(caught.value)


ROW_WITH_PLACEHOLDER = """
settings:
  model: {class: shop_app.settings:Settings, not_placeholder: true}
"""


def test_a_model_row_can_refuse_values_still_at_their_default(
    pytester, monkeypatch, app_env
):
    monkeypatch.setenv("SHOP_REGION", "eu-west-1")
    monkeypatch.setenv("SHOP_LEVEL", "debug")
    pytester.makefile(".yaml", sleuth=textwrap.dedent(SUITE))
    write_app(pytester.path)
    write_table(pytester, ROW_WITH_PLACEHOLDER, name="model")
    result = pytester.runpytest("-rA", "-k", "salt or region or name")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*signing_salt (model shop_app.settings:Settings): present but is still "
            "the settings model's default (not_placeholder) (from default)",
        ]
    )


def test_a_value_pydantic_settings_cannot_parse_breaks_the_model_without_showing_it(
    tmp_path, monkeypatch
):
    (tmp_path / "plain_app.py").write_text(
        "from pydantic_settings import BaseSettings\n\n\n"
        "class Settings(BaseSettings):\n    hosts: list[str] = []\n"
    )
    monkeypatch.setenv("HOSTS", "hosts-not-json-51aa")
    spec = SourceSpec(
        kind="model", location="plain_app:Settings", options={}, where="x"
    )
    lookup = SettingsResolver([build_source(spec, root=tmp_path)]).lookup("hosts")[1]
    assert lookup.answers[0].broken == (
        'cannot be built (error parsing value for field "hosts" from source '
        '"EnvSettingsSource")'
    )


def test_with_several_dotenv_files_the_one_a_value_came_from_is_named(
    tmp_path, monkeypatch
):
    (tmp_path / "plain_app.py").write_text(
        textwrap.dedent("""
        from pydantic import BaseModel
        from pydantic_settings import BaseSettings, SettingsConfigDict


        class Cache(BaseModel):
            host: str = "localhost"


        class Settings(BaseSettings):
            model_config = SettingsConfigDict(
                env_prefix="MULTI_",
                env_file=("base.env", "prod.env"),
                env_nested_delimiter="__",
            )
            name: str
            port: int
            cache: Cache = Cache()
        """)
    )
    (tmp_path / "base.env").write_text("MULTI_NAME=shop\nMULTI_PORT=1\n")
    (tmp_path / "prod.env").write_text("multi_port=2\nMULTI_CACHE__HOST=cache-1\n")
    monkeypatch.chdir(tmp_path)
    spec = SourceSpec(
        kind="model", location="plain_app:Settings", options={}, where="x"
    )
    source = build_source(spec, root=tmp_path)
    said = {n: (f.value, f.detail) for n in source.names() for f in [source.lookup(n)]}
    assert said["name"] == ("shop", "from dotenv base.env")
    assert said["port"] == (2, "from dotenv prod.env")  # the last file wins
    assert said["cache.host"] == ("cache-1", "from dotenv prod.env")


TYPED_ROW = """
settings:
  merchant_ref: {type: int}
"""


def test_a_secretstr_field_failing_a_type_rule_is_not_shown(
    pytester, monkeypatch, app_env
):
    pytester.makefile(".yaml", sleuth=textwrap.dedent(SUITE))
    write_app(pytester.path)
    write_table(pytester, TYPED_ROW, name="typed")
    result = pytester.runpytest("-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*setting merchant_ref (from model shop_app.settings:Settings) is set "
            "(value not shown: secret), not a valid int*"
        ]
    )
    assert VALUES["merchant_ref"] not in result.stdout.str()
