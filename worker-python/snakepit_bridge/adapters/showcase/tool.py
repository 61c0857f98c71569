"""The streaming guide's import path for StreamChunk, which lives in snakepit_bridge.stream_chunk."""

from snakepit_bridge.stream_chunk import StreamChunk

__all__ = ["StreamChunk"]
