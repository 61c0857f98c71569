from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENCODING_JSON: _ClassVar[Encoding]
    ENCODING_BYTES: _ClassVar[Encoding]
    ENCODING_NDARRAY: _ClassVar[Encoding]
    ENCODING_ARROW_TABLE: _ClassVar[Encoding]
    ENCODING_ARROW_RECORD_BATCH: _ClassVar[Encoding]
ENCODING_JSON: Encoding
ENCODING_BYTES: Encoding
ENCODING_NDARRAY: Encoding
ENCODING_ARROW_TABLE: Encoding
ENCODING_ARROW_RECORD_BATCH: Encoding

class PingRequest(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ("message", "worker_id", "pid", "capacity")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    message: str
    worker_id: str
    pid: int
    capacity: int
    def __init__(self, message: _Optional[str] = ..., worker_id: _Optional[str] = ..., pid: _Optional[int] = ..., capacity: _Optional[int] = ...) -> None: ...

class ParameterSpec(_message.Message):
    __slots__ = ("name", "type", "required", "default_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    required: bool
    default_json: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., default_json: _Optional[str] = ...) -> None: ...

class ToolSpec(_message.Message):
    __slots__ = ("name", "description", "parameters", "supports_streaming", "parameters_schema_json", "result_schema_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_STREAMING_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterSpec]
    supports_streaming: bool
    parameters_schema_json: str
    result_schema_json: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ParameterSpec, _Mapping]]] = ..., supports_streaming: _Optional[bool] = ..., parameters_schema_json: _Optional[str] = ..., result_schema_json: _Optional[str] = ...) -> None: ...

class ListToolsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListToolsResponse(_message.Message):
    __slots__ = ("tools", "adapter")
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[ToolSpec]
    adapter: str
    def __init__(self, tools: _Optional[_Iterable[_Union[ToolSpec, _Mapping]]] = ..., adapter: _Optional[str] = ...) -> None: ...

class ExecuteToolRequest(_message.Message):
    __slots__ = ("tool_name", "arguments", "session_id", "call_id", "host_tools", "attachments")
    TOOL_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_TOOLS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    tool_name: str
    arguments: bytes
    session_id: str
    call_id: str
    host_tools: _containers.RepeatedScalarFieldContainer[str]
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    def __init__(self, tool_name: _Optional[str] = ..., arguments: _Optional[bytes] = ..., session_id: _Optional[str] = ..., call_id: _Optional[str] = ..., host_tools: _Optional[_Iterable[str]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ...) -> None: ...

class ArrayInfo(_message.Message):
    __slots__ = ("dtype", "shape")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("padding", "data", "encoding", "array", "chunk", "placeholder")
    PADDING_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    PLACEHOLDER_FIELD_NUMBER: _ClassVar[int]
    padding: bytes
    data: bytes
    encoding: Encoding
    array: ArrayInfo
    chunk: int
    placeholder: str
    def __init__(self, padding: _Optional[bytes] = ..., data: _Optional[bytes] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., array: _Optional[_Union[ArrayInfo, _Mapping]] = ..., chunk: _Optional[int] = ..., placeholder: _Optional[str] = ...) -> None: ...

class ExecuteToolResponse(_message.Message):
    __slots__ = ("padding", "result", "encoding", "array", "attachments")
    PADDING_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    padding: bytes
    result: bytes
    encoding: Encoding
    array: ArrayInfo
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    def __init__(self, padding: _Optional[bytes] = ..., result: _Optional[bytes] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., array: _Optional[_Union[ArrayInfo, _Mapping]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ...) -> None: ...

class ToolChunk(_message.Message):
    __slots__ = ("chunk_id", "data", "is_final", "metadata", "encoding", "array", "attachments")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    data: bytes
    is_final: bool
    metadata: _containers.ScalarMap[str, str]
    encoding: Encoding
    array: ArrayInfo
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    def __init__(self, chunk_id: _Optional[str] = ..., data: _Optional[bytes] = ..., is_final: _Optional[bool] = ..., metadata: _Optional[_Mapping[str, str]] = ..., encoding: _Optional[_Union[Encoding, str]] = ..., array: _Optional[_Union[ArrayInfo, _Mapping]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ...) -> None: ...

class ChunkBatch(_message.Message):
    __slots__ = ("padding", "json_run", "chunks", "attachments")
    PADDING_FIELD_NUMBER: _ClassVar[int]
    JSON_RUN_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    padding: bytes
    json_run: bytes
    chunks: _containers.RepeatedCompositeFieldContainer[ToolChunk]
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    def __init__(self, padding: _Optional[bytes] = ..., json_run: _Optional[bytes] = ..., chunks: _Optional[_Iterable[_Union[ToolChunk, _Mapping]]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ...) -> None: ...

class HostMessage(_message.Message):
    __slots__ = ("request", "host_result")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    HOST_RESULT_FIELD_NUMBER: _ClassVar[int]
    request: ExecuteToolRequest
    host_result: HostToolResult
    def __init__(self, request: _Optional[_Union[ExecuteToolRequest, _Mapping]] = ..., host_result: _Optional[_Union[HostToolResult, _Mapping]] = ...) -> None: ...

class ToolMessage(_message.Message):
    __slots__ = ("batch", "result", "host_call")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    HOST_CALL_FIELD_NUMBER: _ClassVar[int]
    batch: ChunkBatch
    result: ExecuteToolResponse
    host_call: HostToolCall
    def __init__(self, batch: _Optional[_Union[ChunkBatch, _Mapping]] = ..., result: _Optional[_Union[ExecuteToolResponse, _Mapping]] = ..., host_call: _Optional[_Union[HostToolCall, _Mapping]] = ...) -> None: ...

class HostToolCall(_message.Message):
    __slots__ = ("id", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    arguments: bytes
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., arguments: _Optional[bytes] = ...) -> None: ...

class HostToolResult(_message.Message):
    __slots__ = ("id", "result", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: int
    result: bytes
    error: HostToolFailure
    def __init__(self, id: _Optional[int] = ..., result: _Optional[bytes] = ..., error: _Optional[_Union[HostToolFailure, _Mapping]] = ...) -> None: ...

class HostToolFailure(_message.Message):
    __slots__ = ("message", "type")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    message: str
    type: str
    def __init__(self, message: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class AwaitCallRequest(_message.Message):
    __slots__ = ("call_id", "timeout_ms")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    timeout_ms: int
    def __init__(self, call_id: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class AwaitCallResponse(_message.Message):
    __slots__ = ("ended",)
    ENDED_FIELD_NUMBER: _ClassVar[int]
    ended: bool
    def __init__(self, ended: _Optional[bool] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("code", "message", "python_type", "python_traceback", "hint", "worker_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PYTHON_TYPE_FIELD_NUMBER: _ClassVar[int]
    PYTHON_TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    python_type: str
    python_traceback: str
    hint: str
    worker_id: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., python_type: _Optional[str] = ..., python_traceback: _Optional[str] = ..., hint: _Optional[str] = ..., worker_id: _Optional[str] = ...) -> None: ...
