"""One-record evaluator: the whole rule set becomes ONE generated Python function.

Only the checked AST is turned into source. Field names never appear in the generated code except as
``repr`` string keys; locals are ``f0, f1, ...``; literals are ``repr`` of validated ints/floats/
strings or named constants (Decimal, date, frozenset). Rules are grouped by the fields they need, so
a missing field is tested once per group instead of once per rule: that is how 1,000 threshold
rules fit in tens of microseconds.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any, Callable, Sequence

from . import nodes as n
from .fields import FieldType, Schema
from .semantics import desugar_between, numeric_context, strict_fields

__all__ = ["generate_record_source", "compile_record"]

RecordFn = Callable[[Callable[[str], Any]], list]


class _Gen:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.consts: dict[str, Any] = {}
        self._const_ids: dict[tuple, str] = {}
        self.locals: dict[str, str] = {}
        self.ntemp = 0
        self.nonnull: frozenset[str] = frozenset()

    def const(self, value: Any) -> str:
        key = (type(value).__name__, value if not isinstance(value, frozenset) else tuple(sorted(map(repr, value))))
        if key not in self._const_ids:
            name = f"_k{len(self._const_ids)}"
            self._const_ids[key] = name
            self.consts[name] = value
        return self._const_ids[key]

    def temp(self) -> str:
        self.ntemp += 1
        return f"_t{self.ntemp}"

    def local(self, field: str) -> str:
        if field not in self.locals:
            self.locals[field] = f"f{len(self.locals)}"
        return self.locals[field]

    # -- literals ------------------------------------------------------------------------------
    def lit(self, value: Any, ctx: FieldType | None) -> str:
        if isinstance(value, bool):
            return repr(value)
        if isinstance(value, Decimal):
            if ctx is FieldType.DECIMAL:
                return self.const(value)
            if ctx is FieldType.INTEGER and value == value.to_integral_value():
                return repr(int(value))
            return repr(float(value))
        if isinstance(value, str):
            return repr(value)
        if isinstance(value, _dt.date):
            return self.const(value)
        raise AssertionError(value)

    # -- values: expression text evaluating to the value or None -------------------------------
    def nullable(self, node: n.Node) -> bool:
        if isinstance(node, n.Literal):
            return False
        if isinstance(node, n.FieldRef):
            return node.name not in self.nonnull
        if isinstance(node, n.Call) and node.name == "coalesce":
            return all(self.nullable(a) for a in node.args)
        if isinstance(node, n.Arith) and node.op != "/":
            return self.nullable(node.left) or self.nullable(node.right)
        if isinstance(node, n.Neg):
            return self.nullable(node.operand)
        if isinstance(node, n.Call):
            return any(self.nullable(a) for a in node.args)
        return True

    def value(self, node: n.Node, ctx: FieldType | None = None) -> str:
        if isinstance(node, n.Literal):
            return self.lit(node.value, ctx or node.type)
        if isinstance(node, n.FieldRef):
            return self.local(node.name)
        if node.type is FieldType.BOOLEAN and not isinstance(node, n.Call):
            return f"(True if {self.truth(node, True)} else (False if {self.truth(node, False)} else None))"
        if isinstance(node, n.Neg):
            return self.apply([node.operand], node.type, lambda a: f"-{a}")
        if isinstance(node, n.Arith):
            op = node.op
            c = node.type if op != "/" else FieldType.NUMBER
            if op == "*" and node.type is FieldType.DECIMAL:
                return self.apply([node.left, node.right], c, lambda a, b: f"{a} * {b}",
                                  ctxs=[_arg_ctx(node.left), _arg_ctx(node.right)])
            if op == "/":
                return self.apply([node.left, node.right], c, lambda a, b: f"{a} / {b}", nonzero=True)
            return self.apply([node.left, node.right], c, lambda a, b: f"{a} {op} {b}")
        if isinstance(node, n.Call):
            return self.call(node)
        raise AssertionError(type(node))

    def operand(self, node: n.Node, ctx: FieldType | None) -> tuple[str, str | None]:
        """Returns (text to use, guard or None); complex nullable operands are bound to a temp."""
        text = self.value(node, ctx)
        if not self.nullable(node):
            return text, None
        if isinstance(node, n.FieldRef):
            return text, text
        t = self.temp()
        return t, f"({t} := {text})"

    def apply(self, args: Sequence[n.Node], ctx: FieldType | None, fmt: Callable[..., str],
              nonzero: bool = False, ctxs: Sequence[FieldType | None] | None = None) -> str:
        parts, guards = [], []
        for i, a in enumerate(args):
            c = ctxs[i] if ctxs else ctx
            text, guard = self.operand(a, c)
            if nonzero and i == len(args) - 1 and guard is None and not isinstance(a, n.Literal):
                t = self.temp()
                guard, text = f"({t} := {text})", t
            parts.append(text)
            if guard:
                guards.append(f"{guard} is None")
        if nonzero:
            guards.append(f"{parts[-1]} == 0")
        body = fmt(*parts)
        return f"(None if {' or '.join(guards)} else {body})" if guards else f"({body})"

    def call(self, node: n.Call) -> str:
        name, args = node.name, node.args
        ctx = node.type if node.type in (FieldType.DECIMAL, FieldType.INTEGER, FieldType.NUMBER) else None
        if name == "abs":
            return self.apply(args, ctx, lambda a: f"abs({a})")
        if name == "len":
            return self.apply(args, None, lambda a: f"len({a})")
        if name == "days_between":
            return self.apply(args, None, lambda a, b: f"({b} - {a}).days")
        if name in ("min", "max"):
            return self.apply(args, ctx, lambda *xs: f"{name}({', '.join(xs)})")
        # coalesce: first present argument
        out = self.value(args[-1], ctx)
        for a in reversed(args[:-1]):
            if not self.nullable(a):
                out = self.value(a, ctx)
                continue
            t = self.temp()
            out = f"({t} if ({t} := {self.value(a, ctx)}) is not None else {out})"
        return out

    # -- truth: expression text that is truthy iff the condition is known to be `want` ---------
    def truth(self, node: n.Node, want: bool) -> str:
        if isinstance(node, n.Between):
            return self.truth(desugar_between(node), want)
        if isinstance(node, n.Literal):
            return repr(node.value is want)
        if isinstance(node, n.Not):
            return self.truth(node.operand, not want)
        if isinstance(node, n.Logic):
            a, b = self.truth(node.left, want), self.truth(node.right, want)
            joiner = " and " if (node.op == "and") == want else " or "
            return f"({a}{joiner}{b})"
        if isinstance(node, n.IsMissing):
            is_missing = want != node.negated
            if not self.nullable(node.operand):
                return repr(not is_missing)
            text = self.value(node.operand)
            return f"({text} is None)" if is_missing else f"({text} is not None)"
        if isinstance(node, n.Compare):
            ctx = numeric_context(node.left, node.right) if node.left.type in _NUMS else None
            a, ga = self.operand(node.left, ctx)
            b, gb = self.operand(node.right, ctx)
            op = "==" if node.op == "=" else node.op
            cmp = f"{a} {op} {b}" if want else f"not ({a} {op} {b})"
            return self.guarded([ga, gb], cmp)
        if isinstance(node, n.InList):
            ctx = numeric_context(node.operand, *node.items) if node.operand.type in _NUMS else None
            values = frozenset(_const_value(i.value, ctx) for i in node.items)
            a, g = self.operand(node.operand, ctx)
            inside = want != node.negated
            return self.guarded([g], f"{a} {'in' if inside else 'not in'} {self.const(values)}")
        if isinstance(node, n.FieldRef):
            v = self.local(node.name)
            if node.name in self.nonnull:
                return v if want else f"(not {v})"
            return f"({v} is not None and {'' if want else 'not '}{v})"
        # boolean-valued function (coalesce)
        t = self.temp()
        return f"(({t} := {self.value(node)}) is not None and {'' if want else 'not '}{t})"

    @staticmethod
    def guarded(guards: list[str | None], cond: str) -> str:
        gs = [f"{g} is not None" for g in guards if g]
        return f"({' and '.join(gs + [cond])})"


_NUMS = (FieldType.NUMBER, FieldType.INTEGER, FieldType.DECIMAL)


def _arg_ctx(node: n.Node) -> FieldType | None:
    return FieldType.DECIMAL if isinstance(node, n.Literal) else None


def _const_value(value: Any, ctx: FieldType | None) -> Any:
    if isinstance(value, Decimal) and not isinstance(value, bool):
        if ctx is FieldType.DECIMAL:
            return value
        if ctx is FieldType.INTEGER and value == value.to_integral_value():
            return int(value)
        return float(value)
    return value


def generate_record_source(trees: Sequence[n.Node], schema: Schema) -> tuple[str, dict[str, Any]]:
    """Python source of ``_evaluate(_g)`` returning indices of hit rules, plus its constants."""
    gen = _Gen(schema)
    groups: dict[frozenset[str], list[int]] = {}
    for i, tree in enumerate(trees):
        groups.setdefault(strict_fields(tree), []).append(i)
    body: list[str] = []
    for fields, idxs in groups.items():
        gen.nonnull = fields
        indent = "    "
        if fields:
            cond = " and ".join(f"{gen.local(f)} is not None" for f in sorted(fields))
            body.append(f"    if {cond}:")
            indent = "        "
        for i in idxs:
            body.append(f"{indent}if {gen.truth(trees[i], True)}: _a({i})")
    head = ["def _evaluate(_g):", "    _h = []", "    _a = _h.append"]
    for field, local in gen.locals.items():
        head.append(f"    {local} = _g({field!r})")
        if schema[field].type is FieldType.NUMBER:
            head.append(f"    if {local} is not None and {local} != {local}: {local} = None")
    return "\n".join(head + body + ["    return _h", ""]), gen.consts


def compile_record(trees: Sequence[n.Node], schema: Schema) -> tuple[RecordFn, str]:
    """Compile checked trees into ``fn(getter) -> list[int]`` (indices of hit rules, ascending per group)."""
    source, consts = generate_record_source(trees, schema)
    namespace: dict[str, Any] = {"__builtins__": {"abs": abs, "min": min, "max": max, "len": len}}
    namespace.update(consts)
    exec(compile(source, "<nongxin-rules>", "exec"), namespace)  # source built from the checked AST only
    return namespace["_evaluate"], source
