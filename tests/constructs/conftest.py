"""Synthesize each stack variant once per module and share its template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

ACCOUNT = "123456789012"


def make_stack(region: str | None = "us-east-1", account: str | None = ACCOUNT) -> cdk.Stack:
    app = cdk.App(context={"@aws-cdk/core:failSynthOnValidationErrors": False})
    env = None if region is None else cdk.Environment(account=account, region=region)
    return cdk.Stack(app, "TestStack", env=env)


def template_of(build: Callable[[cdk.Stack], Any], region: str | None = "us-east-1") -> Template:
    stack = make_stack(region)
    build(stack)
    return Template.from_stack(stack)


@pytest.fixture
def stack() -> cdk.Stack:
    return make_stack()


def resources_of(template: Template, resource_type: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(resource_type)
    return found
