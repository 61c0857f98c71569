"""The Python side of snakepit-rx: what an adapter module imports.

    from snakepit_bridge import BaseAdapter, StreamChunk, tool

Snakepit's adapters import ``SessionContext`` from here, and ``snakepit_bridge.logging_config``,
``snakepit_bridge.serialization`` and ``snakepit_bridge.telemetry``, which exist at those paths.
The streaming guide's longer paths (``snakepit_bridge.base_adapter``,
``snakepit_bridge.adapters.showcase.tool``, ``snakepit_bridge.call_context``)
name the same objects. Every module imported here is one a worker loads
anyway, and none imports more than the standard library, so importing the
package costs a worker nothing at start-up.
"""

from snakepit_bridge.base_adapter import BaseAdapter, ToolMetadata, tool
from snakepit_bridge.call_context import current_call, is_cancelled
from snakepit_bridge.session_context import SessionContext
from snakepit_bridge.stream_chunk import StreamChunk

__all__ = ["BaseAdapter", "SessionContext", "StreamChunk", "ToolMetadata", "current_call", "is_cancelled", "tool"]
