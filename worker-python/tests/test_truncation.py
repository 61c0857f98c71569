"""Text cut to fit gRPC trailers: within its size in UTF-8 bytes, and saying how much was cut."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from snakepit_bridge.truncation import cut_end, cut_middle

CUT_END = re.compile(r"… \[cut: ([\d,]+) more characters\]$")
CUT_MIDDLE = re.compile(r"\n… \[cut: ([\d,]+) characters\] …\n")


def removed(match: re.Match[str] | None) -> int:
    assert match is not None, "the text is marked as cut"
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("cut", [cut_end, cut_middle])
@pytest.mark.parametrize("text", ["", "short", "é" * 100, "x" * 1024])
def test_text_that_fits_is_unchanged(cut: Callable[[str, int], str], text: str) -> None:
    assert cut(text, 1024) == text


@pytest.mark.parametrize("size", [1025, 30 * 1024, 1024 * 1024, 10 * 1024 * 1024])
@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"], ids=["1 byte", "2 bytes", "3 bytes", "4 bytes"])
def test_cut_end_keeps_the_beginning_within_the_size_and_counts_the_rest(size: int, character: str) -> None:
    text = "start:" + character * size

    result = cut_end(text, 1024)

    assert len(result.encode()) <= 1024
    assert result.startswith("start:" + character * 10)
    kept = CUT_END.sub("", result)
    assert text.startswith(kept), "whole characters only, nothing altered"
    assert len(kept) + removed(CUT_END.search(result)) == len(text)


@pytest.mark.parametrize("size", [4097, 30 * 1024, 10 * 1024 * 1024])
@pytest.mark.parametrize("character", ["x", "é", "😀"])
def test_cut_middle_keeps_both_ends_within_the_size_and_counts_the_middle(size: int, character: str) -> None:
    text = "Traceback:" + character * size + ":the exception"

    result = cut_middle(text, 4096)

    assert len(result.encode()) <= 4096
    head, _, tail = CUT_MIDDLE.split(result)
    assert text.startswith(head) and head.startswith("Traceback:")
    assert text.endswith(tail) and tail.endswith(":the exception")
    assert len(tail) > len(head), "the end of a traceback matters most"
    assert len(head) + removed(CUT_MIDDLE.search(result)) + len(tail) == len(text)


@pytest.mark.parametrize("cut", [cut_end, cut_middle])
def test_lone_surrogates_are_escaped_so_that_the_text_can_travel(cut: Callable[[str, int], str]) -> None:
    result = cut("a\ud800b", 1024)

    assert result == "a\\ud800b"
    result.encode()
