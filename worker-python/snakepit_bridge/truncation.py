"""Text cut short: a caller's input as messages quote it, and text cut to a size in UTF-8 bytes, saying how much
was cut, for what must fit in gRPC trailers.

A status travels in HTTP/2 trailers, which clients limit (grpcio refuses more
than 16 KiB; Node's HTTP/2 drops more than 64 KiB without a word, and the call
then waits for its deadline). The Node side (lib/contract/truncation.ts) cuts
the same way to the same sizes, so that text cut here passes there unchanged.
"""

from __future__ import annotations

# Room for the marker: "… [cut: 9,999,999,999 more characters]" and its newlines.
_MARKER_ROOM = 64
# Characters of a caller's input a message quotes, as Node's messages do (lib/quoted-input.ts).
MAX_QUOTED_INPUT = 64


def cut_input(text: str) -> str:
    """A caller's input shown as it is (an argument's key), cut to its first characters and "…"."""
    return text if len(text) <= MAX_QUOTED_INPUT else text[:MAX_QUOTED_INPUT] + "…"


def quote_input(value: str) -> str:
    """A caller's string as a message quotes it: cut to its first characters, its length said.

    Messages travel back to clients and into logs; a 200 KiB tool name echoed whole hung a client.
    """
    if len(value) <= MAX_QUOTED_INPUT:
        return repr(value)
    return f"{value[:MAX_QUOTED_INPUT]!r}… ({len(value)} characters)"


def _utf8(text: str) -> bytes:
    # Lone surrogates (a JSON argument may hold them) have no UTF-8 form; escaped, they still read.
    return text.encode("utf-8", "backslashreplace")


def _prefix(encoded: bytes, size: int) -> str:
    """The characters that fit whole in the first size bytes."""
    return encoded[:size].decode("utf-8", "ignore")


def _suffix(encoded: bytes, size: int) -> str:
    """The characters that fit whole in the last size bytes."""
    return encoded[len(encoded) - size :].decode("utf-8", "ignore") if size > 0 else ""


def cut_end(text: str, max_bytes: int) -> str:
    """The text if it fits in max_bytes of UTF-8; else its beginning, marked as cut, within max_bytes."""
    encoded = _utf8(text)
    if len(encoded) <= max_bytes:
        return encoded.decode()
    kept = _prefix(encoded, max_bytes - _MARKER_ROOM)
    return f"{kept}… [cut: {len(encoded.decode()) - len(kept):,} more characters]"


def cut_middle(text: str, max_bytes: int) -> str:
    """Like cut_end, but keeps both ends: a traceback's innermost frames and exception come last."""
    encoded = _utf8(text)
    if len(encoded) <= max_bytes:
        return encoded.decode()
    room = max_bytes - _MARKER_ROOM
    head = _prefix(encoded, room // 4)
    tail = _suffix(encoded, room - len(head.encode()))
    return f"{head}\n… [cut: {len(encoded.decode()) - len(head) - len(tail):,} characters] …\n{tail}"
