"""Type checker: resolves names against the schema and annotates every node with its type.

It also folds ``+ - *`` on numeric literals (so ``100 * 10000`` is a literal) and enforces the money
convention: decimal amounts mix only with decimal amounts, numeric literals (read as yuan) and, for
``*``, integers; amounts are never divided. This keeps both evaluators exact and identical.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeGuard

from . import nodes as n
from .errors import RuleTypeError, UnknownFieldError
from .fields import FieldType, Schema

__all__ = ["check", "BOOLEAN", "NUMERIC"]

BOOLEAN = FieldType.BOOLEAN
NUMERIC = frozenset({FieldType.NUMBER, FieldType.INTEGER, FieldType.DECIMAL})
_ORDERED = NUMERIC | {FieldType.DATE}


def check(node: n.Node, schema: Schema, source: str = "") -> n.Node:
    """Type-check ``node`` in place and return it; the whole rule must be a boolean condition."""
    node = _Checker(schema, source).visit(node)
    if node.type is not BOOLEAN:
        raise RuleTypeError(
            f"a rule must be a condition (true/false), not a {node.type.value}",
            line=node.line, column=node.column, source=source,
        )
    return node


def literal_type(value: object) -> FieldType:
    if isinstance(value, bool):
        return FieldType.BOOLEAN
    if isinstance(value, Decimal):
        return FieldType.INTEGER if value == value.to_integral_value() else FieldType.NUMBER
    if isinstance(value, str):
        return FieldType.STRING
    return FieldType.DATE


def _is_num_lit(node: n.Node) -> TypeGuard[n.Literal]:
    return isinstance(node, n.Literal) and isinstance(node.value, Decimal)


class _Checker:
    def __init__(self, schema: Schema, source: str) -> None:
        self.schema = schema
        self.source = source

    def err(self, msg: str, at: n.Node) -> RuleTypeError:
        return RuleTypeError(msg, line=at.line, column=at.column, source=self.source)

    def visit(self, node: n.Node) -> n.Node:
        node = getattr(self, "v_" + type(node).__name__)(node)
        assert node.type is not None
        return node

    # -- leaves ----------------------------------------------------------------------------------
    def v_Literal(self, node: n.Literal) -> n.Node:
        node.type = literal_type(node.value)
        return node

    def v_FieldRef(self, node: n.FieldRef) -> n.Node:
        f = self.schema.resolve(node.name)
        if f is None:
            raise UnknownFieldError(
                f"unknown field {node.name!r}", field=node.name,
                line=node.line, column=node.column, source=self.source,
            )
        node.name = f.name
        node.type = f.type
        return node

    # -- numbers ---------------------------------------------------------------------------------
    def numeric(self, node: n.Node, what: str) -> None:
        if node.type not in NUMERIC:
            raise self.err(f"{what} needs a number, got {node.type.value}", node)

    def join(self, a: n.Node, b: n.Node, what: str) -> FieldType:
        """Common numeric type of two operands, enforcing the money rules."""
        self.numeric(a, what)
        self.numeric(b, what)
        ta, tb = a.type, b.type
        if FieldType.DECIMAL in (ta, tb):
            if ta == tb or _is_num_lit(a) or _is_num_lit(b):
                return FieldType.DECIMAL
            other = b if ta is FieldType.DECIMAL else a
            raise self.err(
                f"a decimal amount can only be combined with amounts or literal yuan values, "
                f"not a {other.type.value}", other,
            )
        if ta is FieldType.INTEGER and tb is FieldType.INTEGER:
            return FieldType.INTEGER
        return FieldType.NUMBER

    def v_Neg(self, node: n.Neg) -> n.Node:
        node.operand = self.visit(node.operand)
        self.numeric(node.operand, "'-'")
        node.type = node.operand.type
        return node

    def v_Arith(self, node: n.Arith) -> n.Node:
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        left, right, op = node.left, node.right, node.op
        self.numeric(left, f"'{op}'")
        self.numeric(right, f"'{op}'")
        if op == "/" and _is_num_lit(right) and right.value == 0:
            raise self.err("division by zero", right)
        if _is_num_lit(left) and _is_num_lit(right) and op != "/":
            value = {"+": left.value + right.value, "-": left.value - right.value,
                     "*": left.value * right.value}[op]
            lit = n.Literal(left.line, left.column, value=value)
            lit.type = literal_type(value)
            return lit
        dec = FieldType.DECIMAL
        if op == "/":
            if dec in (left.type, right.type):
                bad = left if left.type is dec else right
                raise self.err("decimal amounts cannot be divided; multiply the other side instead", bad)
            node.type = FieldType.NUMBER
        elif op == "*" and dec in (left.type, right.type):
            amount, factor = (left, right) if left.type is dec else (right, left)
            if factor.type is dec:
                raise self.err("cannot multiply an amount by an amount", right)
            if factor.type is FieldType.NUMBER and not _is_num_lit(factor):
                raise self.err("an amount can be multiplied only by an integer or a literal", factor)
            node.type = dec
        else:
            node.type = self.join(left, right, f"'{op}'")
        return node

    # -- conditions ------------------------------------------------------------------------------
    def comparable(self, op: str, left: n.Node, right: n.Node) -> None:
        lt, rt = left.type, right.type
        bad = left if isinstance(left, n.Literal) and not isinstance(right, n.Literal) else right
        if lt in NUMERIC and rt in NUMERIC:
            self.join(left, right, f"'{op}'")
            return
        if lt != rt:
            raise self.err(f"cannot compare {lt.value} with {rt.value}", bad)
        if op not in ("=", "!=") and lt not in _ORDERED:
            raise self.err(f"'{op}' is not defined for {lt.value} values; use = or !=", bad)

    def v_Compare(self, node: n.Compare) -> n.Node:
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        self.comparable(node.op, node.left, node.right)
        node.type = BOOLEAN
        return node

    def boolean(self, node: n.Node, what: str) -> None:
        if node.type is not BOOLEAN:
            raise self.err(f"'{what}' needs a condition, got {node.type.value}", node)

    def v_Logic(self, node: n.Logic) -> n.Node:
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        self.boolean(node.left, node.op)
        self.boolean(node.right, node.op)
        node.type = BOOLEAN
        return node

    def v_Not(self, node: n.Not) -> n.Node:
        node.operand = self.visit(node.operand)
        self.boolean(node.operand, "not")
        node.type = BOOLEAN
        return node

    def v_InList(self, node: n.InList) -> n.Node:
        node.operand = self.visit(node.operand)
        node.items = [self.visit(i) for i in node.items]
        for item in node.items:
            self.comparable("=", node.operand, item)
        node.type = BOOLEAN
        return node

    def v_Between(self, node: n.Between) -> n.Node:
        node.operand = self.visit(node.operand)
        node.low, node.high = self.visit(node.low), self.visit(node.high)
        self.comparable(">=", node.operand, node.low)
        self.comparable("<=", node.operand, node.high)
        node.type = BOOLEAN
        return node

    def v_IsMissing(self, node: n.IsMissing) -> n.Node:
        node.operand = self.visit(node.operand)
        node.type = BOOLEAN
        return node

    # -- functions -------------------------------------------------------------------------------
    def v_Call(self, node: n.Call) -> n.Node:
        node.args = [self.visit(a) for a in node.args]
        args, name = node.args, node.name
        arity = {"abs": (1, 1), "len": (1, 1), "days_between": (2, 2)}.get(name, (2, 99))
        if not arity[0] <= len(args) <= arity[1]:
            want = str(arity[0]) if arity[0] == arity[1] else f"at least {arity[0]}"
            raise self.err(f"{name}() takes {want} argument(s), got {len(args)}", node)
        if name == "abs":
            self.numeric(args[0], "abs()")
            node.type = args[0].type
        elif name == "len":
            if args[0].type is not FieldType.STRING:
                raise self.err(f"len() needs a string, got {args[0].type.value}", args[0])
            node.type = FieldType.INTEGER
        elif name == "days_between":
            for a in args:
                if a.type is not FieldType.DATE:
                    raise self.err(f"days_between() needs dates, got {a.type.value}", a)
            node.type = FieldType.INTEGER
        else:
            node.type = self.common(args, name)
        return node

    def common(self, args: list[n.Node], name: str) -> FieldType:
        first = args[0]
        if name in ("min", "max") and first.type not in _ORDERED:
            raise self.err(f"{name}() needs numbers or dates, got {first.type.value}", first)
        if first.type in NUMERIC:
            for a in args:
                self.numeric(a, f"{name}()")
            if any(a.type is FieldType.DECIMAL for a in args):
                for a in args:
                    if a.type is not FieldType.DECIMAL and not _is_num_lit(a):
                        raise self.err(f"{name}() mixes an amount with a {a.type.value}", a)
                return FieldType.DECIMAL
            if all(a.type is FieldType.INTEGER for a in args):
                return FieldType.INTEGER
            return FieldType.NUMBER
        for a in args[1:]:
            if a.type != first.type:
                raise self.err(f"{name}() arguments must share one type: {first.type.value} and {a.type.value}", a)
        return first.type
