"""SessionContext: the session a tool call belongs to, and the host's tools it may call.

Snakepit's adapters get one through ``set_session_context(ctx)`` (and as the ``context`` argument of
``execute_tool``) and use ``ctx.session_id``, ``ctx.elixir_tools`` and ``ctx.call_elixir_tool(name,
**kwargs)``. Here the host is the Node pool: its tools are those of ``createPool({ hostTools })``,
reached through the call's own stream, under Snakepit's names and under ``host_tools`` /
``call_host_tool``.
"""

from __future__ import annotations

from types import TracebackType

from snakepit_bridge.host_tools import HostToolChannel, HostToolNotFoundError


class SessionContext:
    """What a tool call knows of its session and its host.

    The worker makes one per call; ``SessionContext(stub, session_id)``, as Snakepit's constructor
    reads, makes one without host tools (``stub`` is kept, and not used: there is no Elixir side).
    """

    def __init__(self, stub: object = None, session_id: str = "", *, host_tools: HostToolChannel | None = None) -> None:
        self.stub = stub
        self.session_id = session_id
        """The call's ``sessionId`` (a call option in Node); empty when it has none."""
        self._host = host_tools

    @property
    def host_tools(self) -> dict[str, dict[str, object]]:
        """The host's tools by name: ``{name: {"name", "description", "parameters"}}``, as Snakepit lists
        Elixir tools. Node's tools are plain functions: no description, no declared parameters."""
        names = self._host.names if self._host is not None else ()
        return {name: {"name": name, "description": "", "parameters": {}} for name in names}

    @property
    def elixir_tools(self) -> dict[str, dict[str, object]]:
        """Snakepit's name for :attr:`host_tools`."""
        return self.host_tools

    def call_host_tool(self, tool_name: str, **kwargs: object) -> object:
        """Calls the host tool ``tool_name`` with keyword arguments (JSON) and returns its result.

        Blocks until Node answers. Raises :class:`~snakepit_bridge.host_tools.HostToolNotFoundError`
        (a ``ValueError``) for a tool the pool does not register, ``HostToolError`` (a ``RuntimeError``)
        with the Node error's message when it fails, ``HostToolCancelledError`` when this call is
        cancelled meanwhile (Node then aborts the host tool's signal), and ``TypeError`` for arguments
        JSON cannot carry. In an async tool, ``await call_host_tool_async(...)`` keeps the loop running.
        """
        return self._channel(tool_name).call(tool_name, kwargs)

    def call_elixir_tool(self, tool_name: str, **kwargs: object) -> object:
        """Snakepit's name for :meth:`call_host_tool`."""
        return self.call_host_tool(tool_name, **kwargs)

    async def call_host_tool_async(self, tool_name: str, **kwargs: object) -> object:
        """:meth:`call_host_tool` for async tools."""
        return await self._channel(tool_name).call_async(tool_name, kwargs)

    def cleanup(self) -> None:
        """Does nothing: a session's state lives in Node (Snakepit asks Elixir to drop it here)."""

    def __enter__(self) -> SessionContext:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        return f"SessionContext(session_id={self.session_id!r})"

    def _channel(self, tool_name: str) -> HostToolChannel:
        if self._host is None:
            raise HostToolNotFoundError(
                f"no host tool named {tool_name!r}: this call has no host tools "
                "(register them with createPool({ hostTools }) in Node)"
            )
        return self._host
