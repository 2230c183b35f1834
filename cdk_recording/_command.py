"""What every ``cdk-recording`` subcommand shares: exit codes, the one-line error, argument types.

Kept apart from :mod:`cdk_recording.cli` so that subcommands in their own modules can use them
without importing the entry point (which imports them).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    #: What a subcommand registration receives (``argparse``'s private sub-parsers action).
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "CommandError", "non_empty"]

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
