"""Schema of the fields a rule may read.

Rules only see declared fields: this is what makes unknown names an error at load time instead of a
silent ``missing`` at 3 a.m., and what lets the compiler pick exact arithmetic for money.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

__all__ = ["FieldType", "Field", "Schema"]


class FieldType(str, enum.Enum):
    NUMBER = "number"  # float in records, float64 in frames
    INTEGER = "integer"  # int in records, int64 / Int64 in frames
    DECIMAL = "decimal"  # money: Decimal yuan in records, integer fen in frames
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"  # datetime.date in records, datetime64 in frames


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    label: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise ValueError(f"field name {self.name!r} must be an identifier not starting with '_'")
        object.__setattr__(self, "type", FieldType(self.type))


class Schema(Mapping[str, Field]):
    """Fields by name; a rule may also use the Chinese label as the name."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self._by_name: dict[str, Field] = {}
        self._by_label: dict[str, Field] = {}
        for f in fields:
            if f.name in self._by_name:
                raise ValueError(f"field {f.name!r} declared twice")
            self._by_name[f.name] = f
            if f.label:
                self._by_label[f.label] = f

    def resolve(self, name: str) -> Field | None:
        return self._by_name.get(name) or self._by_label.get(name)

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"Schema({list(self._by_name.values())!r})"
