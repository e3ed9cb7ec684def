"""Redis replies as text: the one decoding rule every bus and API module uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.bus.codec import raw, text


@given(st.text())
def test_text_and_raw_round_trip(value: str) -> None:
    assert text(raw(value)) == value
    assert text(value) == value
    assert raw(raw(value)) == raw(value)


def test_text_decodes_utf8_and_refuses_garbage() -> None:
    assert text(b"1700000000000-0") == "1700000000000-0"
    assert text("caf\u00e9".encode()) == "caf\u00e9"
    with pytest.raises(UnicodeDecodeError):
        text(b"\xff")
