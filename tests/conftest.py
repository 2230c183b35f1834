"""Hypothesis profiles shared by every test folder.

``ci`` (the default) is derandomized: the same examples on every run, so a red build always means a
change, never a new random draw. ``explore`` draws fresh random examples: run
``HYPOTHESIS_PROFILE=explore pytest tests/handler tests/simulator`` to hunt for new failures.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
