"""An OpenAPI document read from a file or a URL, its ``$ref`` s resolved.

OpenAPI 3.0 and 3.1 and Swagger 2.0, in JSON or YAML. A URL is fetched once,
with a timeout; ``$ref`` s are resolved by jsonref (pyproject's ``init`` extra
says why), references to other files or URLs relative to the document. What
cannot be read is a ``InitError`` saying what, where, and what to do.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sleuth.init.errors import InitError

FETCH_TIMEOUT_S = 10.0
MAX_SPEC_BYTES = 16 * 1024 * 1024
_SPEC_HELP = (
    "Give the URL of the OpenAPI document itself (often /openapi.json, "
    "/swagger.json or /spec.json) or a file holding it."
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    """A document whose ``$ref`` s are resolved: ``data`` is plain dicts and lists."""

    source: str  # as the user gave it
    data: dict[str, Any]
    version: str  # "OpenAPI 3.1.0", "Swagger 2.0"
    url: str | None = None  # where it was fetched from, if it was
    files: tuple[Path, ...] = ()  # the local files read: the document, its $refs'

    @property
    def is_swagger(self) -> bool:
        return self.version.startswith("Swagger")

    @property
    def title(self) -> str:
        info = self.data.get("info")
        if not isinstance(info, dict):
            return ""
        title = str(info.get("title") or "").strip()
        version = str(info.get("version") or "").strip()
        return f"{title} {version}".strip()


def load_spec(source: str, *, cwd: Path, timeout_s: float = FETCH_TIMEOUT_S) -> Spec:
    """Read, parse and resolve the document at ``source`` (a URL or a path).

    Raises:
        InitError: unreadable, unanswered, not JSON or YAML, not a spec, or a
            ``$ref`` that does not resolve.
    """
    if source.startswith(("http://", "https://")):
        text = _fetch(source, timeout_s)
        base_uri = source
        url: str | None = source
    else:
        path = (cwd / source).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InitError(
                f"there is no file {source!r} (looked at {path}). {_SPEC_HELP}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InitError(f"cannot read {source!r}: {exc}") from None
        base_uri = path.as_uri()
        url = None
    files: list[Path] = [] if url else [path]
    raw = _parse(text, source)
    version = _version(raw, source)
    data = _resolve(raw, base_uri, source, timeout_s, files)
    return Spec(source=source, data=data, version=version, url=url, files=tuple(files))


def _fetch(url: str, timeout_s: float) -> str:
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
        url, headers={"Accept": "application/json, application/yaml;q=0.9, */*;q=0.5"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (as above)
            body: bytes = response.read(MAX_SPEC_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise InitError(
            f"{url} answered {exc.code} {exc.reason}, not an OpenAPI document. "
            f"{_SPEC_HELP}"
        ) from None
    except TimeoutError:
        raise InitError(
            f"{url} did not answer within {timeout_s:g} s. Check the address and "
            f"that the service is up, or save the document to a file and give that."
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            reason = f"no answer within {timeout_s:g} s"
        raise InitError(
            f"{url} could not be fetched: {reason}. Check the address and that "
            f"the service is up, or save the document to a file and give that."
        ) from None
    if len(body) > MAX_SPEC_BYTES:
        raise InitError(
            f"{url} sent more than {MAX_SPEC_BYTES // (1024 * 1024)} MB: that is "
            f"not an OpenAPI document sleuth will read. {_SPEC_HELP}"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InitError(
            f"{url} sent something that is not UTF-8 text. {_SPEC_HELP}"
        ) from None


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        start = " ".join(text[:60].split())
        raise InitError(
            f"{source} is neither JSON nor YAML (it begins {start!r}). {_SPEC_HELP}"
        ) from None


def _version(raw: Any, source: str) -> str:
    if not isinstance(raw, dict) or not (raw.get("openapi") or raw.get("swagger")):
        raise InitError(
            f"{source} is not an OpenAPI document: it has no 'openapi: 3.x' or "
            f"'swagger: \"2.0\"' at its top. {_SPEC_HELP}"
        )
    found = raw.get("openapi") or raw.get("swagger")
    name = "OpenAPI" if "openapi" in raw else "Swagger"
    if not (str(found).startswith("3.") if name == "OpenAPI" else str(found) == "2.0"):
        raise InitError(
            f"{source} is {name} {found}: sleuth reads OpenAPI 3.0 and 3.1 and "
            f"Swagger 2.0. Convert it, e.g. with swagger2openapi."
        )
    if not isinstance(raw.get("paths"), dict):
        raise InitError(
            f"{source} is {name} {found} but has no paths: there is nothing to probe."
        )
    return f"{name} {found}"


def _resolve(
    raw: Any, base_uri: str, source: str, timeout_s: float, files: list[Path]
) -> Any:
    try:
        import jsonref
    except ImportError:
        raise InitError(
            "sleuth init --openapi needs the 'jsonref' package to resolve the "
            "spec's $refs. Install it with: pip install 'sleuth[init]'"
        ) from None

    try:
        return jsonref.replace_refs(
            raw,
            base_uri=base_uri,
            loader=_loader(timeout_s, files),
            proxies=False,
            lazy_load=False,
        )
    except jsonref.JsonRefError as exc:
        ref = exc.reference.get("$ref") if isinstance(exc.reference, dict) else None
        raise InitError(
            f"{source}: the reference {ref!r} does not resolve: {exc.message}. "
            f"Fix the document, or bundle it into one file."
        ) from None


def _loader(timeout_s: float, files: list[Path]) -> Callable[[str], Any]:
    """jsonref's loader for other documents: files, or http(s) with a timeout."""

    def load(uri: str) -> Any:
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme == "file":
            path = Path(urllib.request.url2pathname(parsed.path))
            files.append(path)
            return _parse(path.read_text(encoding="utf-8"), uri)
        if parsed.scheme in ("http", "https"):
            return _parse(_fetch(uri, timeout_s), uri)
        raise InitError(f"a $ref to {uri!r}: only files and http(s) URLs are read")

    return load
