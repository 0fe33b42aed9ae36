"""Why an AWS settings source could not be read, in words a person acts on.

botocore's exceptions and AWS's error codes become one sentence each: access
denied, not found, throttled, credentials missing or refused, timed out, no
connection. Never a traceback, never a value: AWS's own messages name the
caller and the action, not the secret.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

# botocore's attempts per call: the first and one retry (throttling, 5xx, a
# dropped connection), both inside the probe's time left.
ATTEMPTS = 2

_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
_NOT_FOUND = frozenset({"ResourceNotFoundException", "ParameterNotFound"})
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
_CREDENTIALS_REFUSED = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_DECRYPTION = frozenset({"DecryptionFailure", "KMSAccessDeniedException"})
# An error answer in XML from an endpoint speaking JSON (moto does so, as do
# some proxies): its code and message are still read.
_XML_CODE = re.compile(r"<Code>([^<]*)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


class _Source(Protocol):
    @property
    def location(self) -> str: ...
    @property
    def region(self) -> str | None: ...
    @property
    def profile(self) -> str | None: ...
    @property
    def service_words(self) -> str: ...
    @property
    def action(self) -> str: ...


def describe_error(
    exc: BaseException, *, source: _Source, endpoint: str | None, attempt_s: float
) -> str:
    """One sentence saying why ``source`` could not be read, and what to do."""
    from botocore import exceptions as aws

    name = type(exc).__name__
    at = endpoint or f"the {source.service_words} endpoint"
    if name == "_NoBoto3":
        return (
            "needs the 'boto3' package, which is not installed. "
            "Install it with: pip install 'sleuth[aws]'"
        )
    if isinstance(exc, aws.ClientError):
        return _client_error(exc.response, source=source)
    if isinstance(exc, aws.NoCredentialsError):
        return (
            "no credentials: boto3 found none (no AWS_PROFILE, no "
            "AWS_ACCESS_KEY_ID, no shared credentials file, no instance or task "
            "role). Give the runner one of them"
        )
    if isinstance(exc, aws.PartialCredentialsError):
        return f"incomplete credentials ({exc}). Set both the key id and the secret"
    if isinstance(exc, aws.ProfileNotFound):
        return (
            f"no profile {source.profile!r} in the AWS config files. Check "
            f"profile: in sleuth.yaml, AWS_PROFILE and ~/.aws/config"
        )
    if isinstance(exc, aws.NoRegionError):
        return (
            "no region: say region: eu-west-1 on the source in sleuth.yaml, "
            "or set AWS_REGION"
        )
    if isinstance(exc, aws.ConnectTimeoutError | aws.ReadTimeoutError):
        what = "connecting" if isinstance(exc, aws.ConnectTimeoutError) else "answer"
        return (
            f"timed out: no {what} from {at} within {attempt_s:.1f} s "
            f"({ATTEMPTS} attempts, within the probe's time left). Check the "
            f"runner reaches it, or give the probe more time"
        )
    if isinstance(exc, aws.EndpointConnectionError):
        return (
            f"cannot connect to {at} ({_reason(exc)}). Check the endpoint "
            f"(endpoint_url, AWS_ENDPOINT_URL) and the network"
        )
    if isinstance(exc, aws.SSLError):
        return f"TLS failed with {at} ({_reason(exc)})"
    if isinstance(exc, aws.ParamValidationError):
        return f"refused by boto3 before sending ({' '.join(str(exc).split())})"
    return f"{name}: {exc}"


def _client_error(response: Any, *, source: _Source) -> str:
    code, message = _code_and_message(response)
    said = f" ({message})" if message else ""
    if code in _ACCESS_DENIED:
        return (
            f"access denied{said}. Allow {source.action} on {source.location} "
            f"to the role or user the runner uses"
        )
    if code in _NOT_FOUND:
        region = f" in {source.region}" if source.region else ""
        return (
            f"not found: no {source.location}{region} ({code}). Check the name "
            f"and the region"
        )
    if code in _THROTTLED:
        return (
            f"throttled by {source.service_words} ({code}), after {ATTEMPTS} "
            f"attempts. Try again shortly; something else may be using the "
            f"account's request quota"
        )
    if code in _CREDENTIALS_REFUSED:
        return (
            f"credentials refused{said}. Check AWS_PROFILE or AWS_ACCESS_KEY_ID, "
            f"or refresh an expired session"
        )
    if code in _DECRYPTION:
        return (
            f"cannot be decrypted{said}. The runner needs kms:Decrypt on the "
            f"secret's KMS key"
        )
    return f"{source.service_words} answered {code}{said}"


def _code_and_message(response: Any) -> tuple[str, str]:
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    code = str(error.get("Code", "") or "")
    message = str(error.get("Message", "") or "")
    if message.lstrip().startswith("<"):
        xml_code, xml_message = _XML_CODE.search(message), _XML_MESSAGE.search(message)
        code = xml_code.group(1) if xml_code else code
        message = xml_message.group(1) if xml_message else ""
    if not code:
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        code = f"HTTP {status}"
    return code, " ".join(message.split())


def _reason(exc: Any) -> str:
    error = getattr(exc, "kwargs", {}).get("error")
    text = str(error) if error is not None else str(exc)
    # urllib3 wraps the OS's words: "...: Failed to establish a new
    # connection: [Errno 111] Connection refused" -> the last part.
    words = re.sub(r"\[Errno -?\d+\] ", "", text.rsplit(": ", 1)[-1])
    return words.strip(" )'\"").lower() or type(exc).__name__
