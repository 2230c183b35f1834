"""What every ``cdk-recording`` subcommand shares: exit codes, the one-line error, argument types.

Kept apart from :mod:`cdk_recording.cli` so that subcommands in their own modules can use them
without importing the entry point (which imports them).
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    #: What a subcommand registration receives (``argparse``'s private sub-parsers action).
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = [
    "DAY_FORMAT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "non_empty",
    "table_name",
    "utc_day",
]

#: Success: the request was accepted, or the report has nothing open.
EXIT_OK = 0
#: The request failed, or the report has open findings.
EXIT_FAILURE = 1
#: The command line, the input file or the AWS configuration is wrong (argparse's own code too).
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure a subcommand reports as one line on stderr, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def non_empty(value: str) -> str:
    """argparse type for ids: reject empty or whitespace-padded values at the flag."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if value != value.strip():
        raise argparse.ArgumentTypeError(f"{value!r} has surrounding whitespace")
    return value


#: How a day is written on the command line.
DAY_FORMAT: Final = "YYYY-MM-DD"
_TABLE_NAME = re.compile(
    r"(arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/)?[A-Za-z0-9_.-]{3,255}"
)


def utc_day(value: str) -> date:
    """argparse type: a UTC day, ``YYYY-MM-DD``."""
    try:
        if len(value) != len(DAY_FORMAT):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a day: expected {DAY_FORMAT} (a UTC day)"
        ) from None


def table_name(value: str) -> str:
    """argparse type: a DynamoDB table name or ARN."""
    if not _TABLE_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a DynamoDB table name: expected 3 to 255 of A-Z a-z 0-9 _ . - "
            "(or a table ARN)"
        )
    return value
