"""A program a test drives (Mosquitto, Chromium) that is not on this machine.

``make test`` installs both where it can (root with apt-get: its ``browser`` and ``mosquitto``
targets) and then says so in ``TESTS_NEED_TOOLS``: there a missing program is an install that
failed, and the test fails, so CI never goes green on tests it skipped. Elsewhere (a
developer's machine without root) the test is skipped with the reason, printed by ``-rs``.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

NEED = "TESTS_NEED_TOOLS"  # set to 1 by `make test` where it installs the tools


def missing(reason: str) -> NoReturn:
    """Fail (the tools were to be installed here) or skip, saying what is missing."""
    if os.environ.get(NEED) == "1":
        pytest.fail(f"{reason}; `make test` installs it on this machine: that install failed")
    pytest.skip(reason)
