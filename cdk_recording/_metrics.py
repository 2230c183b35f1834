"""The library's CloudWatch metrics: one namespace, one ``Application`` dimension, one builder."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

__all__ = ["application_metric"]


def application_metric(
    namespace: str, application: str, metric_name: str, **options: Any
) -> cloudwatch.Metric:
    """A metric the library's functions emit (sum over 5 minutes unless ``options`` say otherwise)."""
    options.setdefault("statistic", "Sum")
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map={"Application": application},
        **options,
    )
