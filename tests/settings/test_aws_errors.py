"""The words for AWS errors moto cannot be made to give (throttling, KMS)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from sleuth.settings.awserrors import describe_error

SOURCE = SimpleNamespace(
    location="prod/shop",
    region="eu-west-1",
    profile=None,
    service_words="AWS Secrets Manager",
    action="secretsmanager:GetSecretValue",
)


def said(code: str, message: str = "", status: int = 400) -> str:
    exc = ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetSecretValue",
    )
    return describe_error(exc, source=SOURCE, endpoint=None, attempt_s=1.0)


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [
        pytest.param(
            "ThrottlingException", "Rate exceeded",
            "throttled by AWS Secrets Manager (ThrottlingException), after 2 "
            "attempts. Try again shortly; something else may be using the "
            "account's request quota",
            id="throttled",
        ),
        pytest.param(
            "DecryptionFailure", "KMS key pending deletion",
            "cannot be decrypted (KMS key pending deletion). The runner needs "
            "kms:Decrypt on the secret's KMS key",
            id="kms",
        ),
        pytest.param(
            "ExpiredTokenException", "The security token included in the request is expired",
            "credentials refused (The security token included in the request is "
            "expired). Check AWS_PROFILE or AWS_ACCESS_KEY_ID, or refresh an "
            "expired session",
            id="expired",
        ),
        pytest.param(
            "InvalidRequestException", "the secret is scheduled for deletion",
            "AWS Secrets Manager answered InvalidRequestException (the secret is "
            "scheduled for deletion)",
            id="other",
        ),
    ],
)  # fmt: skip
def test_each_error_code_reads_as_what_to_do(code, message, words):
    assert said(code, message) == words


def test_an_error_answered_in_xml_is_still_read():
    xml = (
        '<?xml version="1.0"?><ErrorResponse><Errors><Error><Code>AccessDenied'
        "</Code><Message>User: u is not authorized</Message></Error></Errors>"
        "</ErrorResponse>"
    )
    assert said("403", xml, status=403) == (
        "access denied (User: u is not authorized). Allow "
        "secretsmanager:GetSecretValue on prod/shop to the role or user the "
        "runner uses"
    )


def test_an_error_without_a_code_names_the_status():
    assert said("", status=502) == "AWS Secrets Manager answered HTTP 502"
