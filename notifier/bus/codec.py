"""Bytes from Redis as text, and text as bytes: the one place replies are decoded.

redis-py hands back ``bytes`` (our clients never set ``decode_responses``, since stream bodies
are JSON read with orjson straight from bytes), while the embedded server, a RESP3 map or a
value we wrote ourselves may already be ``str``. Every module that reads ids, names or set
members from Redis goes through :func:`text`, so the rule (UTF-8, strict: ours are ASCII) is
written once. Raw stream fields meant for people go through ``streams.decode_fields`` instead,
which replaces invalid UTF-8 rather than raising.
"""

from __future__ import annotations


def text(value: bytes | str) -> str:
    """``value`` as ``str`` (bytes are decoded as UTF-8)."""
    return value.decode() if isinstance(value, bytes) else value


def raw(value: bytes | str) -> bytes:
    """``value`` as ``bytes`` (str is encoded as UTF-8)."""
    return value.encode() if isinstance(value, str) else value
