"""What sleuth says of a pydantic-settings model, in words that never quote a value.

pydantic's own error text quotes the input (``input_value=...``): here an error
is its type, message and place, and a message that would quote the input is
replaced. Also: a field's type as a name, whether it holds a secret, the plain
value a probe sees, and a settings source's name as the evidence gives it.
"""

from __future__ import annotations

import enum
from typing import Any


def why(exc: BaseException) -> str:
    """An exception in words that cannot quote a setting's value."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # e.g. the module builds its settings
        errors = exc.errors(include_url=False, include_input=False)
        said = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'model'}: {e['type']}"
            for e in errors[:5]
        )
        return f"ValidationError at import: {said}"
    if isinstance(exc, ImportError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__} (its message is not shown: it may quote a value)"


def reason(error: Any, *, whole: bool = False) -> str:
    """pydantic's message for one error: never its input, nor a message quoting it.
    Its place within the field, unless ``whole`` (the caller says the place)."""
    loc = "" if whole else ".".join(str(part) for part in error["loc"][1:])
    message = str(error["msg"])
    given = error.get("input")
    if isinstance(given, bytes):
        given = given.decode("utf-8", "replace")
    if error["type"] in ("value_error", "assertion_error") or (
        isinstance(given, str) and given.strip() and given in message
    ):
        # A validator's own text may quote what it was given.
        message = f"rejected by the model's validator ({error['type']})"
    return f"{loc}: {message}" if loc else message


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def is_secret_type(annotation: Any) -> bool:
    from typing import get_args

    from pydantic import SecretBytes, SecretStr

    if isinstance(annotation, type) and issubclass(
        annotation, (SecretStr, SecretBytes)
    ):
        return True
    return any(is_secret_type(arg) for arg in get_args(annotation))


def plain(value: Any) -> Any:
    """What a probe and the checks see: a secret's text, an enum's value, a URL's."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    if isinstance(value, (SecretStr, SecretBytes)):
        return value.get_secret_value()
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, (str, bytes, int, float, BaseModel)):
        return value
    if type(value).__module__.startswith(("pydantic", "pydantic_core")):
        return str(value)  # Url, MultiHostUrl, ...
    return value


def label(source: Any) -> str:
    from pydantic_settings import (
        DotEnvSettingsSource,
        EnvSettingsSource,
        InitSettingsSource,
        SecretsSettingsSource,
    )

    if isinstance(source, DotEnvSettingsSource):
        return f"dotenv {paths(source.env_file)}"
    if isinstance(source, EnvSettingsSource):
        return "environment"
    if isinstance(source, SecretsSettingsSource):
        return f"secrets dir {paths(source.secrets_dir)}"
    if isinstance(source, InitSettingsSource):
        return "init arguments"
    if type(source).__name__ == "DefaultSettingsSource":
        return "default"
    return type(source).__name__


def paths(value: Any) -> str:
    items = value if isinstance(value, (list, tuple)) else [value]
    return ", ".join(str(item) for item in items if item is not None) or "(none)"


def keys(name: str, info: Any) -> list[str]:
    """The keys a field's value may be held under in a source's state."""
    from pydantic import AliasChoices, AliasPath

    keys = [name]
    for alias in (info.alias, info.validation_alias):
        if isinstance(alias, str):
            keys.append(alias)
        elif isinstance(alias, AliasChoices):
            keys.extend(c for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, AliasPath) and isinstance(alias.path[0], str):
            keys.append(alias.path[0])
    return list(dict.fromkeys(keys))
