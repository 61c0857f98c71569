"""Each tool's schemas and argument validator, built on first use.

Importing pydantic and building a tool's validator cost a worker tens of
milliseconds; this module imports neither, so that a worker reports ready
without paying for them (see ``warm_up``).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from snakepit_bridge.base_adapter import ToolInfo
from snakepit_bridge.type_hints import tool_hints

if TYPE_CHECKING:
    from snakepit_bridge.tool_schemas import ToolSchemas

logger = logging.getLogger(__name__)


class ToolTypes:
    """One tool's JSON Schemas and argument validator (``tool_schemas.ToolSchemas``), built once, on first use."""

    def __init__(self, tool: ToolInfo) -> None:
        self._tool = tool
        self._lock = threading.Lock()
        self._schemas: ToolSchemas | None = None

    @property
    def parameters_schema_json(self) -> str:
        return self.schemas().parameters_schema_json

    @property
    def result_schema_json(self) -> str:
        return self.schemas().result_schema_json

    def validate(self, raw: bytes, binaries: dict[str, object] | None = None) -> dict[str, object]:
        """The arguments (JSON, and binary arguments by placeholder) checked and converted; raises an
        ``invalid_arguments`` CallFailure."""
        return self.schemas().validate(raw, binaries)

    def schemas(self) -> ToolSchemas:
        schemas = self._schemas
        if schemas is None:
            with self._lock:
                schemas = self._schemas
                if schemas is None:
                    schemas = self._schemas = self._build()
        return schemas

    def _build(self) -> ToolSchemas:
        tool = self._tool
        # Imported here: pydantic is loaded by the first tool that needs it, not by a worker's start.
        tool_schemas = importlib.import_module("snakepit_bridge.tool_schemas")
        hints = tool_hints(tool.name, tool.function, tool.signature, tool.supports_streaming)
        try:
            built: ToolSchemas = tool_schemas.ToolSchemas(tool.name, hints, tool.parameters)
        except Exception:
            # Annotations pydantic refuses are taken as any value one by one; this is the last resort.
            logger.exception("tool %s: cannot describe its types; its arguments and result are any value", tool.name)
            built = tool_schemas.ToolSchemas(tool.name, hints.untyped(), tool.parameters)
        return built


def types_of(tools: Iterable[ToolInfo]) -> dict[str, ToolTypes]:
    return {tool.name: ToolTypes(tool) for tool in tools}


def warm_up(types: Iterable[ToolTypes]) -> threading.Thread:
    """Builds every tool's schemas in a background thread, so that the first call does not wait for it."""

    def build_all() -> None:
        for each in types:
            try:
                each.schemas()
            except Exception:
                logger.exception("building a tool's schemas failed")

    thread = threading.Thread(target=build_all, name="snakepit-tool-types", daemon=True)
    thread.start()
    return thread
