"""Compliance: cdk-nag rule packs as CDK policy-validation plugins, and acknowledgements.

cdk-nag 3 runs its packs as policy-validation plugins. A finding acknowledged with its prefixed id
(``AwsSolutions::AwsSolutions-IAM5``) stays in ``cdk.out/validation-report.json`` under
``suppressedViolations`` with its reason, which is the audit trail reviewers read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

__all__ = ["DEFAULT_PACKS", "CompliancePack", "acknowledge", "apply_compliance"]


class CompliancePack(Enum):
    """cdk-nag rule packs, by the prefix their findings carry in the report."""

    AWS_SOLUTIONS = "AwsSolutions"
    HIPAA_SECURITY = "HIPAA.Security"
    NIST_800_53_R5 = "NIST.800.53.R5"
    PCI_DSS_321 = "PCI.DSS.321"
    SERVERLESS = "Serverless"


DEFAULT_PACKS: tuple[CompliancePack, ...] = tuple(CompliancePack)


def _plugin(pack: CompliancePack, scope: cdk.App | cdk.Stage, verbose: bool) -> object:
    if pack is CompliancePack.AWS_SOLUTIONS:
        return cdk_nag.AwsSolutionsChecks(scope, verbose=verbose)
    if pack is CompliancePack.HIPAA_SECURITY:
        return cdk_nag.HIPAASecurityChecks(scope, verbose=verbose)
    if pack is CompliancePack.NIST_800_53_R5:
        return cdk_nag.NIST80053R5Checks(scope, verbose=verbose)
    if pack is CompliancePack.PCI_DSS_321:
        return cdk_nag.PCIDSS321Checks(scope, verbose=verbose)
    return cdk_nag.ServerlessChecks(scope, verbose=verbose)


def apply_compliance(
    scope: cdk.App | cdk.Stage,
    *,
    packs: Sequence[CompliancePack] = DEFAULT_PACKS,
    verbose: bool = True,
) -> None:
    """Run cdk-nag rule packs on every synth of ``scope``.

    Findings go to ``cdk.out/validation-report.json``; any open finding fails ``cdk synth``.

    :param packs: the rule packs to run. Default: AwsSolutions, HIPAA Security, NIST 800-53 R5,
        PCI DSS 3.2.1 and Serverless.
    :param verbose: explain each finding in the report. Default: True.
    """
    if not packs:
        raise ValueError(
            "packs=(): give at least one CompliancePack, or do not call apply_compliance"
        )
    plugins = [_plugin(p, scope, verbose) for p in dict.fromkeys(packs)]
    cdk.Validations.of(scope).add_plugins(*plugins)  # type: ignore[arg-type]


def acknowledge(scope: IConstruct, rule_ids: Iterable[str], reason: str) -> None:
    """Acknowledge findings this library causes on ``scope`` and below, each with ``reason``.

    ``rule_ids`` are prefixed ids such as ``AwsSolutions::AwsSolutions-L1`` so that the finding stays in
    the report, with the reason, as an acknowledged finding.
    """
    if not reason.strip():
        raise ValueError("acknowledge(reason=''): every acknowledgement needs a reason")
    for rule_id in rule_ids:
        if "::" not in rule_id:
            raise ValueError(
                f"acknowledge(rule_id={rule_id!r}): use the prefixed id, e.g. "
                "'AwsSolutions::AwsSolutions-IAM5', so the finding stays in the audit trail"
            )
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
