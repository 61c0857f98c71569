"""StreamChunk: a chunk with an explicit final marker and metadata.

The streaming guide imports it from ``snakepit_bridge.adapters.showcase.tool``, which re-exports it;
the core imports it from here, so that it depends on no sample module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class StreamChunk(Generic[T]):
    """Yield this from a streaming tool instead of a bare value to mark the final chunk.

    ``is_final=True`` ends the stream: the generator is closed right after it.
    ``metadata`` is passed to Node as string key/value pairs; on the final chunk
    the pool adds its own keys without overwriting these. Annotate a tool that
    yields them ``Iterator[StreamChunk[T]]``: its chunks' data is described as ``T``.
    """

    data: T
    is_final: bool = False
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"StreamChunk metadata must map str to str, got {type(key).__name__}: {type(value).__name__}"
                )
