"""AST of a rule expression.

Nodes are mutable only so the type checker can annotate ``type`` in place; nothing after type
checking changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Node", "Literal", "FieldRef", "Neg", "Arith", "Compare", "Logic", "Not",
    "InList", "Between", "IsMissing", "Call",
]


@dataclass(eq=False)
class Node:
    line: int
    column: int
    type: Any = field(default=None, init=False)  # FieldType or "boolean" after checking


@dataclass(eq=False)
class Literal(Node):
    value: Any = None  # Decimal for numbers, str, bool, datetime.date


@dataclass(eq=False)
class FieldRef(Node):
    name: str = ""


@dataclass(eq=False)
class Neg(Node):
    operand: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class Arith(Node):
    op: str = "+"
    left: Node = None  # type: ignore[assignment]
    right: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class Compare(Node):
    op: str = "="  # normalised: "==" is stored as "="
    left: Node = None  # type: ignore[assignment]
    right: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class Logic(Node):
    op: str = "and"
    left: Node = None  # type: ignore[assignment]
    right: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class Not(Node):
    operand: Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class InList(Node):
    operand: Node = None  # type: ignore[assignment]
    items: list = field(default_factory=list)  # list[Literal]
    negated: bool = False


@dataclass(eq=False)
class Between(Node):
    operand: Node = None  # type: ignore[assignment]
    low: Node = None  # type: ignore[assignment]
    high: Node = None  # type: ignore[assignment]
    negated: bool = False


@dataclass(eq=False)
class IsMissing(Node):
    operand: Node = None  # type: ignore[assignment]
    negated: bool = False


@dataclass(eq=False)
class Call(Node):
    name: str = ""
    args: list = field(default_factory=list)
