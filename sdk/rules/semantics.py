"""Facts about the language shared by both evaluators, so they cannot drift apart.

Missing values: a rule sees a three-valued world (true, false, missing). Any comparison, arithmetic
or function (except ``coalesce`` and ``is missing``) with a missing operand is missing; division by
zero at run time is missing; ``and``/``or``/``not`` follow Kleene logic; a rule hits only when its
condition is true.
"""

from __future__ import annotations

from . import nodes as n
from .fields import FieldType

__all__ = ["numeric_context", "strict_fields", "value_fields", "desugar_between"]


def numeric_context(*operands: n.Node) -> FieldType:
    """Type in which numeric literals among ``operands`` are read (decimal => yuan)."""
    types = {o.type for o in operands}
    if FieldType.DECIMAL in types:
        return FieldType.DECIMAL
    if types <= {FieldType.INTEGER}:
        return FieldType.INTEGER
    return FieldType.NUMBER


def desugar_between(node: n.Between) -> n.Node:
    ge = n.Compare(node.line, node.column, op=">=", left=node.operand, right=node.low)
    le = n.Compare(node.line, node.column, op="<=", left=node.operand, right=node.high)
    both = n.Logic(node.line, node.column, op="and", left=ge, right=le)
    for x in (ge, le, both):
        x.type = FieldType.BOOLEAN
    if not node.negated:
        return both
    neg = n.Not(node.line, node.column, operand=both)
    neg.type = FieldType.BOOLEAN
    return neg


def value_fields(node: n.Node) -> frozenset[str]:
    """Fields whose absence alone makes ``node``'s value missing."""
    if isinstance(node, n.FieldRef):
        return frozenset({node.name})
    if isinstance(node, n.Neg):
        return value_fields(node.operand)
    if isinstance(node, n.Arith):
        return value_fields(node.left) | value_fields(node.right)
    if isinstance(node, n.Call):
        sets = [value_fields(a) for a in node.args]
        if node.name == "coalesce":
            return frozenset.intersection(*sets)
        return frozenset().union(*sets)
    return frozenset()


def strict_fields(node: n.Node, want: bool = True) -> frozenset[str]:
    """Fields that must be present for ``node`` to be known ``want``; lets code skip None checks."""
    if isinstance(node, n.Compare):
        return value_fields(node.left) | value_fields(node.right)
    if isinstance(node, n.InList):
        return value_fields(node.operand)
    if isinstance(node, n.Between):
        return value_fields(node.operand) | value_fields(node.low) | value_fields(node.high)
    if isinstance(node, n.Not):
        return strict_fields(node.operand, not want)
    if isinstance(node, n.Logic):
        a, b = strict_fields(node.left, want), strict_fields(node.right, want)
        return a | b if (node.op == "and") == want else a & b
    if isinstance(node, n.FieldRef):
        return frozenset({node.name})
    return frozenset()
