"""Setting up boto3 for the operator tools: one session rule and one wording for configuration errors.

Shared by :class:`cdk_recording.control.RecordingControl` (``cdk-recording call``) and
``cdk-recording recordings``, so both read the Region, the profile and the credentials the same
standard AWS ways and fail with the same one-line messages.
"""

from __future__ import annotations

import boto3
from botocore.exceptions import (
    ConfigParseError,
    CredentialRetrievalError,
    NoAuthTokenError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

__all__ = [
    "CREDENTIAL_ERRORS",
    "AwsConfigurationError",
    "credentials_message",
    "no_region_message",
    "session",
]

#: botocore errors meaning the caller has no usable credentials (raised when a request is signed).
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    NoAuthTokenError,
    ProfileNotFound,
    ConfigParseError,
)


class AwsConfigurationError(Exception):
    """The AWS session or client could not be set up: unknown profile, no Region, bad config."""


def session(profile_name: str | None) -> boto3.session.Session:
    """A fresh session (never boto3's default one, which caches credentials across uses).

    :param profile_name: the shared-config profile. Default: ``AWS_PROFILE``, else the default
        profile.
    :raises AwsConfigurationError: the profile does not exist, or the config files do not parse.
    """
    try:
        return boto3.session.Session(profile_name=profile_name)
    except ProfileNotFound as error:
        raise AwsConfigurationError(
            f"AWS profile {profile_name or '(from AWS_PROFILE)'!s} was not found in the shared "
            f"config files ({error})"
        ) from error
    except ConfigParseError as error:
        raise AwsConfigurationError(f"invalid AWS client configuration: {error}") from error


def no_region_message(error: NoRegionError) -> str:
    """What to say when a client has no Region."""
    return (
        "no AWS Region is configured: set AWS_DEFAULT_REGION or a profile's region, or pass one "
        f"explicitly ({error})"
    )


def credentials_message(error: Exception, permission: str) -> str:
    """What to say when a request could not be signed; ``permission`` names what the identity
    needs (IAM actions), so the operator configures the right one.
    """
    return (
        f"no usable AWS credentials: {error}; configure credentials (environment, profile, SSO or "
        f"role) for an identity allowed {permission}"
    )
