"""The catalog table of ``cdk-recording recordings``: finding it, opening it, and its AWS errors.

The session is set up as for ``cdk-recording call`` (:mod:`cdk_recording._aws`). Every failure
becomes a one-line :class:`~cdk_recording._command.CommandError`: exit 2 for what the operator must
fix in the command line or the AWS configuration (no Region, no credentials, unknown profile, no such
table or stack), exit 1 for the rest (access denied, unreachable, a service error).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from cdk_recording import _aws
from cdk_recording._command import EXIT_USAGE, CommandError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = [
    "REQUIRED_PERMISSIONS",
    "STACK_OUTPUT_PREFIX",
    "Where",
    "aws_errors",
    "cloudformation_client",
    "open_table",
    "stack_output",
    "stack_table_name",
]

#: The stack output holding the catalog table's name starts with this (or, for an output the CDK
#: named after its construct path, contains it).
STACK_OUTPUT_PREFIX: Final = "CatalogTableName"
#: What the caller's identity needs.
REQUIRED_PERMISSIONS: Final = (
    "dynamodb:Query on the catalog table and its indexes (and cloudformation:DescribeStacks with "
    "--stack)"
)

_CREDENTIALS_REFUSED = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})
# Throttling and transient errors are retried by botocore (standard mode) before they surface.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass
class Where:
    """What is being read, filled in as it becomes known, for error messages."""

    region: str | None = None
    stack: str | None = None
    table: str | None = None


def cloudformation_client(session: boto3.session.Session, region: str | None) -> Any:
    """The CloudFormation client ``--stack`` is resolved with (a seam for tests)."""
    return session.client("cloudformation", region_name=region, config=_CLIENT_CONFIG)


def stack_table_name(cloudformation: Any, stack_name: str) -> str:
    """The catalog table's name from ``stack_name``'s outputs: the output whose key starts with
    :data:`STACK_OUTPUT_PREFIX`, else the one whose key contains it (an output the CDK named after
    its construct path). ``cloudformation`` is a boto3 CloudFormation client.

    :raises CommandError: no such output, or more than one.
    """
    return stack_output(
        cloudformation, stack_name, STACK_OUTPUT_PREFIX, "a catalog table", "--table"
    )


def stack_output(cloudformation: Any, stack_name: str, prefix: str, what: str, instead: str) -> str:
    """The value of ``stack_name``'s output whose key starts with ``prefix`` (else contains it);
    ``what`` and ``instead`` (the option to pass instead) word the errors.

    :raises CommandError: no such output, or more than one.
    """
    stacks = cloudformation.describe_stacks(StackName=stack_name).get("Stacks", [])
    outputs = {
        str(output.get("OutputKey")): str(output.get("OutputValue"))
        for stack in stacks[:1]
        for output in stack.get("Outputs", [])
    }
    keys = sorted(key for key in outputs if key.startswith(prefix)) or sorted(
        key for key in outputs if prefix in key
    )
    if not keys:
        listed = ", ".join(sorted(outputs)) or "none"
        raise CommandError(
            f"--stack {stack_name}: no output key starts with {prefix} "
            f"(outputs: {listed}); deploy a construct version that adds it, or pass {instead}",
            EXIT_USAGE,
        )
    if len(keys) > 1:
        raise CommandError(
            f"--stack {stack_name}: {len(keys)} outputs name {what} ({', '.join(keys)}); "
            f"pass {instead} with the one you mean",
            EXIT_USAGE,
        )
    return outputs[keys[0]]


def open_table(args: argparse.Namespace, where: Where) -> Table:
    """The catalog table named by ``--table``, or by ``--stack``'s output, in the session of
    ``--profile`` and ``--region``; ``where`` learns the Region, the stack and the table.
    """
    session = _aws.session(args.profile)
    dynamodb = session.resource("dynamodb", region_name=args.region, config=_CLIENT_CONFIG)
    where.region = dynamodb.meta.client.meta.region_name
    name: str | None = args.table
    if name is None:
        where.stack = args.stack
        name = stack_table_name(cloudformation_client(session, args.region), args.stack)
    where.table = name
    return dynamodb.Table(name)


@contextmanager
def aws_errors(where: Where) -> Iterator[None]:
    """Turn AWS setup and request failures into one-line :class:`CommandError` s."""
    try:
        yield
    except _aws.AwsConfigurationError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    except NoRegionError as error:
        raise CommandError(_aws.no_region_message(error), EXIT_USAGE) from error
    except _aws.CREDENTIAL_ERRORS as error:
        raise CommandError(
            _aws.credentials_message(error, REQUIRED_PERMISSIONS), EXIT_USAGE
        ) from error
    except ClientError as error:
        raise _translate(error, where) from error
    except (EndpointConnectionError, BotocoreConnectionError, HTTPClientError) as error:
        raise CommandError(
            f"could not reach AWS in Region {where.region}: {error}; check --region and the network"
        ) from error


def _translate(error: ClientError, where: Where) -> CommandError:
    details = error.response.get("Error", {})
    code = details.get("Code") or "Unknown"
    said = f"({code}: {details.get('Message') or error})"
    if error.operation_name == "DescribeStacks":
        if code == "ValidationError":
            return CommandError(
                f"--stack {where.stack}: no such stack in Region {where.region} {said}; check "
                "--stack, --region and --profile",
                EXIT_USAGE,
            )
    elif code == "ResourceNotFoundException":
        return CommandError(
            f"catalog table {where.table} not found in Region {where.region} {said}; check "
            "--table or --stack, --region and --profile",
            EXIT_USAGE,
        )
    if code in _CREDENTIALS_REFUSED:
        return CommandError(
            f"the AWS credentials were refused {said}; configure valid credentials", EXIT_USAGE
        )
    if code in _ACCESS_DENIED:
        return CommandError(f"access denied {said}: the caller needs {REQUIRED_PERMISSIONS}")
    return CommandError(f"{error.operation_name} failed {said}")
