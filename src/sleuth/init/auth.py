"""What an operation's security needs sent: headers read from settings.

Each security scheme's credential is a ``${setting:NAME}`` placeholder named
after the scheme (``bearerAuth`` -> ``BEARER_AUTH``), filled in from the
target's settings sources when the row runs, and masked like any secret.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from sleuth.init.spec import Spec


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Needs:
    """What to send for an operation's auth, or why it cannot be written."""

    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    settings: tuple[str, ...] = ()
    reason: str | None = None


def setting_name(scheme: str) -> str:
    """A scheme's setting: ``OAuth2PasswordBearer`` -> ``OAUTH2_PASSWORD_BEARER``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z]{2})(?=[A-Z][a-z])", "_", scheme)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper() or "API_TOKEN"


def needed(spec: Spec, operation: Mapping[str, Any]) -> Needs:
    """The headers (or query) an operation's security needs, and their settings."""
    auth: dict[str, dict[str, str]] = {"headers": {}, "params": {}}
    settings: list[str] = []

    def needs() -> Needs:
        return Needs(
            headers=auth["headers"],
            params=auth["params"],
            settings=tuple(dict.fromkeys(settings)),
        )

    for parameter in operation.get("parameters") or []:
        # An Authorization header taken as a plain parameter (no scheme).
        if (
            isinstance(parameter, dict)
            and parameter.get("in") == "header"
            and str(parameter.get("name", "")).lower() == "authorization"
        ):
            auth["headers"]["Authorization"] = "${setting:AUTHORIZATION}"
            settings.append("AUTHORIZATION")
    requirements = operation.get("security", spec.data.get("security")) or []
    if not isinstance(requirements, list) or not requirements:
        return needs()
    if any(not r for r in requirements if isinstance(r, dict)):
        return needs()  # {} among them: auth is optional
    requirement = requirements[0]
    if not isinstance(requirement, dict):
        return needs()
    schemes = _security_schemes(spec)
    for scheme_name in requirement:
        scheme = schemes.get(str(scheme_name))
        if not isinstance(scheme, dict):
            return Needs(
                reason=f"security scheme {scheme_name} is not defined in the spec"
            )
        setting = setting_name(str(scheme_name))
        placeholder = "${setting:" + setting + "}"
        kind = str(scheme.get("type", "")).lower()
        if kind == "apikey":
            where, name = scheme.get("in"), str(scheme.get("name", ""))
            if where == "query":
                auth["params"][name] = placeholder
            elif where == "cookie":
                auth["headers"]["Cookie"] = f"{name}={placeholder}"
            else:
                auth["headers"][name] = placeholder
        elif kind == "basic" or (
            kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"
        ):
            auth["headers"]["Authorization"] = f"Basic {placeholder}"
        elif kind == "http" and str(scheme.get("scheme", "")).lower() != "bearer":
            auth["headers"]["Authorization"] = f"{scheme['scheme']} {placeholder}"
        elif kind in ("http", "oauth2", "openidconnect"):
            auth["headers"]["Authorization"] = f"Bearer {placeholder}"
        else:
            return Needs(
                reason=f"security scheme {scheme_name} ({scheme.get('type')}) needs "
                f"more than a header; probe it by hand"
            )
        settings.append(setting)
    return needs()


def _security_schemes(spec: Spec) -> dict[str, Any]:
    if spec.is_swagger:
        found = spec.data.get("securityDefinitions")
    else:
        found = (spec.data.get("components") or {}).get("securitySchemes")
    return found if isinstance(found, dict) else {}
