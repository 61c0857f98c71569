"""Log records as the pool reads them: one line of JSON each, with the call they were made in.

A pool's child worker writes every record as ``SNAKEPIT_LOG {...}`` (level, logger, message,
time, and the running call's id, tool and trace id) on a pipe of their own (``--record-fd``),
which the pool turns into ``log`` events; what a tool prints goes to stderr, and reaches the
pool's ``onLog`` as it is. A
standalone worker (``serve``) logs text for whoever reads its stderr, with the call's ids in it.
"""

from __future__ import annotations

import json
import logging

from snakepit_bridge.call_context import running_call

LOG_PREFIX = "SNAKEPIT_LOG "
# The name of the root handler a worker installs: code that configures logging later (Snakepit's
# logging_config) leaves it in place, or the pool would stop receiving records.
WORKER_HANDLER_NAME = "snakepit-worker"
# The longest line a record takes: the pool reads lines of at most 64 Ki characters whole, and a
# record's message is cut to fit, saying how much was cut.
MAX_LINE_CHARS = 60 * 1024
# The longest logger or level name a record carries whole: the message gets what the line has left.
MAX_NAME_CHARS = 1024


def _message(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    message = record.getMessage()
    if record.exc_info:
        record.exc_text = record.exc_text or formatter.formatException(record.exc_info)
    if record.exc_text:
        message = f"{message}\n{record.exc_text}"
    if record.stack_info:
        message = f"{message}\n{formatter.formatStack(record.stack_info)}"
    return message


def _cut_name(name: str) -> str:
    if len(name) <= MAX_NAME_CHARS:
        return name
    return f"{name[:MAX_NAME_CHARS]}… [{len(name) - MAX_NAME_CHARS} more characters cut]"


def _line(fields: dict[str, object]) -> str:
    # ASCII only: the line never holds a raw newline, whatever the message holds.
    return LOG_PREFIX + json.dumps(fields, ensure_ascii=True, default=str)


def _cut_to_fit(fields: dict[str, object]) -> str:
    """The line with as much of the message as fits, and how much was cut; escapes make one character
    of the message take up to six in the line, so the longest prefix that fits is searched for."""
    message = str(fields["message"])

    def cut_line(kept: int) -> str:
        return _line({**fields, "message": f"{message[:kept]}… [{len(message) - kept} more characters cut]"})

    # No more characters than the line holds can fit, so each try encodes at most that many.
    low, high = 0, min(len(message), MAX_LINE_CHARS)
    while low < high:
        middle = (low + high + 1) // 2
        if len(cut_line(middle)) <= MAX_LINE_CHARS:
            low = middle
        else:
            high = middle - 1
    return cut_line(low)


class RecordFormatter(logging.Formatter):
    """Formats a record as the one line of JSON the pool parses."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "level": _cut_name(record.levelname),
            "logger": _cut_name(record.name),
            "message": _message(record, self),
            "time": record.created * 1000,
        }
        call = running_call()
        if call is not None:
            fields["callId"] = call.call_id
            fields["tool"] = call.tool_name
            if call.span.trace_id:
                fields["traceId"] = call.span.trace_id
        line = _line(fields)
        if len(line) > MAX_LINE_CHARS:
            line = _cut_to_fit(fields)
        return line


class CallFilter(logging.Filter):
    """Gives every record ``snakepit_call``: `` [call=<id> trace=<id>]`` within a call, else ""."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = running_call()
        if call is None:
            record.snakepit_call = ""
        else:
            trace = f" trace={call.span.trace_id}" if call.span.trace_id else ""
            record.snakepit_call = f" [call={call.call_id}{trace}]"
        return True
