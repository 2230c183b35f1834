"""The recording handler's Lambda module (handler string ``index.handler``).

The logic ships in the ``sma_recording`` layer; this module only names its entry point.
"""

from __future__ import annotations

from sma_recording.entry import handler

__all__ = ["handler"]
