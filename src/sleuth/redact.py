"""Masking of secrets before anything is shown: passwords in URLs and DSNs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# scheme://user:password@host -> scheme://user:***@host, for what urlsplit rejects.
_USERINFO = re.compile(r"(?P<head>//[^:/@\s]*:)[^@\s]*@")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``; unchanged when it has none."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # a bad port or bracket: mask by pattern instead
        return _USERINFO.sub(r"\g<head>***@", url)
    if password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# password=secret (or password='a secret') in a libpq key=value DSN or a query.
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE
)


def mask_dsn(dsn: str) -> str:
    """``dsn`` (a URL or a libpq ``key=value`` string) with its passwords as ``***``.

    Covers ``user:password@`` in a URL and ``password=`` in a ``key=value``
    string or a URL's query.
    """
    return _KEYWORD_PASSWORD.sub(r"\g<head>***", mask_url(dsn))
