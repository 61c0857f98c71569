"""An adapter annotated with every kind of type a tool's schema describes, as users write them.

Annotations are postponed (``from __future__ import annotations``): each is a
string until resolved. ``typing.TypedDict`` is the standard library's, which
pydantic refuses before Python 3.12.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any, Literal, NotRequired, Optional, TypedDict

import numpy as np
import numpy.typing as npt
import pydantic
from snakepit_bridge import BaseAdapter, StreamChunk, tool

if TYPE_CHECKING:
    from decimal import Decimal  # only for type checkers: the worker cannot resolve it


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Access(enum.IntFlag):
    READ = 1
    WRITE = 2


@dataclasses.dataclass
class Point:
    """A point in the plane."""

    x: float
    y: float


class Person(pydantic.BaseModel):
    name: str
    age: int = 0


class Progress(TypedDict):
    """How far a job is."""

    step: int
    total: int
    note: NotRequired[str]


class TreeNode(TypedDict):
    label: str
    children: list[TreeNode]


class Batch(TypedDict):
    progress: Progress
    points: list[Point]


class Opaque:
    """A class pydantic knows nothing about."""


class TypedTools(BaseAdapter):
    @tool
    def scalars(self, count: int, ratio: float, name: str, flag: bool, nothing: None = None) -> str:
        return f"{count} {ratio} {name} {flag} {nothing}"

    @tool
    def containers(
        self, numbers: list[int], table: dict[str, float], pair: tuple[int, str] | None = None
    ) -> dict[str, list[int]]:
        return {"numbers": numbers}

    @tool
    def choices(
        self,
        mode: Literal["fast", "slow"],
        color: Color,
        maybe: Optional[int] = None,  # noqa: UP045 - as users write it
        key: int | str = 0,
    ) -> int | str:
        return maybe if maybe is not None else mode

    @tool
    def numbered(self, priority: Priority, access: Access = Access.READ) -> int:
        return int(priority) + int(access)

    @tool
    def records(self, progress: Progress, tree: TreeNode, point: Point, person: Person) -> Batch:
        return {"progress": progress, "points": [point]}

    @tool
    def echo_types(
        self,
        when: datetime.datetime,
        day: datetime.date,
        at: datetime.time,
        pair: tuple[int, int],
        tags: set[str],
        ratio: float,
        color: Color,
        point: Point,
        person: Person,
        progress: Progress,
    ) -> dict[str, str]:
        """Reports the Python type each argument arrived as."""
        values = (when, day, at, pair, tags, ratio, color, point, person, progress)
        names = ("when", "day", "at", "pair", "tags", "ratio", "color", "point", "person", "progress")
        return {name: type(value).__name__ for name, value in zip(names, values, strict=True)}

    @tool
    def untyped(self, value, other=3):  # type: ignore[no-untyped-def]
        return value

    @tool
    def anything(self, value: Any) -> Any:
        return value

    @tool
    def binary(self, payload: bytes, size: int = 4) -> bytes:
        return payload * size

    @tool
    def array(self, values: np.ndarray) -> npt.NDArray[np.float32]:
        return np.asarray(values, dtype=np.float32)

    @tool
    def arrays(self) -> np.ndarray:
        return np.zeros(2)

    @tool
    def keywords(self, a: int, **options: float) -> dict[str, float]:
        return {"a": a, **options}

    @tool
    def any_keywords(self, a: int, **options: Any) -> dict[str, Any]:
        return {"a": a, **options}

    @tool
    def unresolvable(self, amount: Decimal, count: int) -> Decimal:
        return amount

    @tool
    def refused(self, thing: Opaque, count: int) -> Opaque:
        return thing

    @tool
    def when(self) -> datetime.datetime:
        return datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    @tool
    def dataclass_result(self) -> Point:
        return Point(1.5, 2.5)

    @tool
    def model_result(self) -> Person:
        return Person(name="Ada", age=36)

    @tool
    def enum_result(self) -> Color:
        return Color.BLUE

    @tool(supports_streaming=True)
    def iterator(self, n: int) -> Iterator[Progress]:
        for step in range(n):
            yield {"step": step, "total": n}

    @tool(supports_streaming=True)
    def generator(self, n: int) -> Generator[Point, None, None]:
        for step in range(n):
            yield Point(step, step)

    @tool(supports_streaming=True)
    async def async_iterator(self, n: int) -> AsyncIterator[int]:
        for step in range(n):
            yield step

    @tool(supports_streaming=True)
    async def async_generator(self, n: int) -> AsyncGenerator[str, None]:
        for step in range(n):
            yield str(step)

    @tool(supports_streaming=True)
    def chunks(self, n: int) -> Iterator[StreamChunk[Progress]]:
        for step in range(n):
            yield StreamChunk({"step": step, "total": n}, is_final=step == n - 1)

    @tool(supports_streaming=True)
    def mixed_chunks(self) -> Iterator[Progress | StreamChunk[Point]]:
        yield {"step": 0, "total": 1}
        yield StreamChunk(Point(0, 0), is_final=True)

    @tool(supports_streaming=True)
    def bare_chunks(self) -> Iterator[StreamChunk]:  # type: ignore[type-arg]
        yield StreamChunk(1, is_final=True)

    @tool(supports_streaming=True)
    def unannotated_stream(self):  # type: ignore[no-untyped-def]
        yield 1

    @tool(supports_streaming=True)
    def binary_stream(self) -> Iterator[bytes]:
        yield b"\x00"

    @tool
    def snakepit_style(self, items: list = None, limit: int = None) -> int:  # type: ignore[assignment,type-arg]  # noqa: RUF013
        """As Snakepit adapters are often written: a default of None where the annotation has no None."""
        return len(items or [])
