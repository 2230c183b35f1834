"""Custom-resource provider for the chime-sdk-voice resources CloudFormation lacks.

The Lambda asset root is ``lambda/chime_provider``; the CDK ``custom_resources.Provider`` calls
``chime_provider.handler.on_event`` and ``chime_provider.handler.is_complete``.
"""

from __future__ import annotations

__all__: list[str] = []
