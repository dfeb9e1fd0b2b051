"""Vectorized evaluator: each checked tree becomes a tree of closures over numpy block arrays.

Same semantics as the record evaluator (see ``semantics``): exact integer arithmetic for integers,
dates and money (int64 with a static decimal scale; a decimal column is fen, scale 2, and yuan
literals are scaled to match), IEEE float64 for ``number`` exactly as Python floats do, Kleene
logic through (known-true, known-false) arrays.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any, Callable, Sequence, cast

import numpy as np

from . import nodes as n
from .fields import FieldType
from .frame_columns import DECIMAL_SCALE
from .semantics import desugar_between, numeric_context

__all__ = ["compile_frame_tree", "Block"]

_EPOCH = _dt.date(1970, 1, 1)
_NUMS = (FieldType.NUMBER, FieldType.INTEGER, FieldType.DECIMAL)
_FIXED_TYPES = (FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE)


class Block:
    """Columns of one block, converted lazily and cached for all rules of the block."""

    __slots__ = ("sources", "a", "b", "n", "cache", "factors")

    def __init__(self, sources: dict, a: int, b: int) -> None:
        self.sources, self.a, self.b, self.n = sources, a, b, b - a
        self.cache: dict[str, Any] = {}
        self.factors: dict[str, Any] = {}

    def factorized(self, name: str) -> tuple[np.ndarray, dict[str, int]]:
        """String column as integer codes (-1 = missing): comparing codes beats comparing objects."""
        f = self.factors.get(name)
        if f is None:
            f = self.factors[name] = self.sources[name].factorized(self.a, self.b)
        return f

    def col(self, name: str) -> Any:
        v = self.cache.get(name)
        if v is None:
            v = self.cache[name] = self.sources[name].block(self.a, self.b)
        return v


Fn = Callable[[Block], Any]


def _or(m1: Any, m2: Any) -> Any:
    if m1 is None:
        return m2
    if m2 is None:
        return m1
    return m1 | m2


def _lit_scale(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -int(exp))


class _Compiler:
    # Each numeric value is ("float", 0, fn -> float array/scalar) or ("fixed", scale, fn -> (ints, mask)).
    def value(self, node: n.Node, ctx: FieldType | None = None) -> tuple[str, int, Fn]:
        t = node.type
        if isinstance(node, n.Literal):
            return self.literal(node.value, ctx or t)
        if t is FieldType.BOOLEAN:
            return "bool", 0, self.pair(node)
        if isinstance(node, n.FieldRef):
            name = node.name
            if t is FieldType.NUMBER:
                return "float", 0, lambda blk: blk.col(name)
            if t is FieldType.STRING:
                return "obj", 0, lambda blk: blk.col(name)
            return "fixed", DECIMAL_SCALE if t is FieldType.DECIMAL else 0, lambda blk: blk.col(name)
        if isinstance(node, n.Neg):
            return self.unary(node.operand, node.type, lambda x: -x)
        if isinstance(node, n.Arith):
            return self.arith(node)
        if isinstance(node, n.Call):
            return self.call(node)
        raise AssertionError(type(node))

    def literal(self, v: Any, ctx: FieldType) -> tuple[str, int, Fn]:
        if isinstance(v, bool):
            arr = (np.bool_(v), np.bool_(not v))
            return "bool", 0, lambda blk: arr
        if isinstance(v, Decimal):
            if ctx in (FieldType.DECIMAL, FieldType.INTEGER) and (ctx is FieldType.DECIMAL or v == v.to_integral_value()):
                s = _lit_scale(v)
                iv = (int(v.scaleb(s)), None)
                return "fixed", s, lambda blk: iv
            fv = float(v)
            return "float", 0, lambda blk: fv
        if isinstance(v, str):
            sv = (v, None)
            return "obj", 0, lambda blk: sv
        dv = ((v - _EPOCH).days, None)
        return "fixed", 0, lambda blk: dv

    # -- conversions ---------------------------------------------------------------------------
    @staticmethod
    def as_float(kind: str, scale: int, fn: Fn) -> Fn:
        if kind == "float":
            return fn
        div = 10.0 ** scale

        def conv(blk: Block) -> Any:
            v, m = fn(blk)
            if np.ndim(v) == 0:
                return float(v) / div if scale else float(v)
            f = v.astype(np.float64)
            if scale:
                f /= div
            if m is not None:
                f[m] = np.nan
            return f

        return conv

    @staticmethod
    def rescale(scale: int, target: int, fn: Fn) -> Fn:
        if scale == target:
            return fn
        k = 10 ** (target - scale)

        def conv(blk: Block) -> Any:
            v, m = fn(blk)
            return v * k, m

        return conv

    def numbers(self, nodes: Sequence[n.Node], ctx: FieldType) -> tuple[str, int, list[Fn]]:
        """Bring operands to one representation: float, or fixed at their largest scale."""
        vals = [self.value(x, ctx) for x in nodes]
        if ctx is FieldType.NUMBER or any(k == "float" for k, _, _ in vals):
            return "float", 0, [self.as_float(*v) for v in vals]
        scale = max(s for _, s, _ in vals)
        return "fixed", scale, [self.rescale(s, scale, f) for _, s, f in vals]

    # -- arithmetic ----------------------------------------------------------------------------
    def unary(self, operand: n.Node, ctx: FieldType, op: Callable[[Any], Any]) -> tuple[str, int, Fn]:
        kind, scale, fn = self.value(operand, ctx)
        if kind == "float":
            return kind, scale, lambda blk: op(fn(blk))

        def fixed(blk: Block) -> Any:
            v, m = fn(blk)
            return op(v), m

        return kind, scale, fixed

    def arith(self, node: n.Arith) -> tuple[str, int, Fn]:
        op = node.op
        if op == "/":
            _, _, (fa, fb) = self.numbers([node.left, node.right], FieldType.NUMBER)

            def div(blk: Block) -> Any:
                a, b = fa(blk), fb(blk)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.true_divide(a, b)
                    if np.ndim(b) == 0:
                        return r if b != 0 else np.full(np.shape(r), np.nan)
                    return np.where(b == 0, np.nan, r)

            return "float", 0, div
        if op == "*":
            vals = [self.value(x, node.type if isinstance(x, n.Literal) else x.type) for x in (node.left, node.right)]
            if node.type is FieldType.NUMBER or any(k == "float" for k, _, _ in vals):
                fa, fb = (self.as_float(*v) for v in vals)
                return "float", 0, lambda blk: fa(blk) * fb(blk)
            (_, sa, fa), (_, sb, fb) = vals

            def mul(blk: Block) -> Any:
                (a, ma), (b, mb) = fa(blk), fb(blk)
                return a * b, _or(ma, mb)

            return "fixed", sa + sb, mul
        kind, scale, (fa, fb) = self.numbers([node.left, node.right], node.type)
        sign = 1 if op == "+" else -1
        if kind == "float":
            return kind, 0, (lambda blk: fa(blk) + fb(blk)) if sign > 0 else (lambda blk: fa(blk) - fb(blk))

        def addsub(blk: Block) -> Any:
            (a, ma), (b, mb) = fa(blk), fb(blk)
            return (a + b if sign > 0 else a - b), _or(ma, mb)

        return kind, scale, addsub

    def call(self, node: n.Call) -> tuple[str, int, Fn]:
        name, args = node.name, node.args
        if name == "abs":
            return self.unary(args[0], node.type, np.abs)
        if name == "len":
            _, _, fl = self.value(args[0])

            def length(blk: Block) -> Any:
                v, m = fl(blk)
                if np.ndim(v) == 0:
                    return len(v), None
                return np.fromiter((len(x) if isinstance(x, str) else 0 for x in v), np.int64, len(v)), m

            return "fixed", 0, length
        if name == "days_between":
            _, _, fa = self.value(args[0])
            _, _, fb = self.value(args[1])

            def days(blk: Block) -> Any:
                (a, ma), (b, mb) = fa(blk), fb(blk)
                return b - a, _or(ma, mb)

            return "fixed", 0, days
        if node.type is FieldType.BOOLEAN:
            return "bool", 0, self.pair(node)
        if node.type in _NUMS:
            kind, scale, fs = self.numbers(args, node.type)
        else:
            vals = [self.value(a) for a in args]
            kind, scale, fs = vals[0][0], 0, [f for _, _, f in vals]
        return kind, scale, _combine(name, kind, fs)

    # -- conditions: closures giving the known-`want` bool array -------------------------------
    def pair(self, node: n.Node) -> Fn:
        ft, ff = self.truth(node, True), self.truth(node, False)
        return lambda blk: (ft(blk), ff(blk))

    def truth(self, node: n.Node, want: bool) -> Fn:
        if isinstance(node, n.Between):
            return self.truth(desugar_between(node), want)
        if isinstance(node, n.Literal):
            c = np.bool_(node.value is want)
            return lambda blk: c
        if isinstance(node, n.Not):
            return self.truth(node.operand, not want)
        if isinstance(node, n.Logic):
            fa, fb = self.truth(node.left, want), self.truth(node.right, want)
            if (node.op == "and") == want:
                return lambda blk: fa(blk) & fb(blk)
            return lambda blk: fa(blk) | fb(blk)
        if isinstance(node, n.IsMissing):
            miss = self.missing(node.operand)
            if want != node.negated:
                return miss
            return lambda blk: ~miss(blk)
        if isinstance(node, n.FieldRef):
            name, i = node.name, 0 if want else 1
            return lambda blk: blk.col(name)[i]
        if isinstance(node, n.Compare):
            return self.compare(node, want)
        if isinstance(node, n.InList):
            return self.inlist(node, want)
        call = cast(n.Call, node)  # the only boolean node left: coalesce(...)
        pairs = [self.pair(a) for a in call.args]  # boolean coalesce: first known argument wins

        def coalesce_bool(blk: Block) -> Any:
            t, f = pairs[-1](blk)
            for p in reversed(pairs[:-1]):
                at, af = p(blk)
                unknown = ~(at | af)
                t, f = at | (unknown & t), af | (unknown & f)
            return t if want else f

        return coalesce_bool

    def missing(self, node: n.Node) -> Fn:
        kind, _, fn = self.value(node)
        if isinstance(node, n.Literal):
            return lambda blk: np.False_
        if kind == "float":
            return lambda blk: np.isnan(fn(blk))
        if kind == "bool":
            def bmiss(blk: Block) -> Any:
                t, f = fn(blk)
                return ~(t | f)
            return bmiss

        def miss(blk: Block) -> Any:
            m = fn(blk)[1]
            return np.zeros(blk.n, bool) if m is None else m

        return miss

    def operands(self, nodes: Sequence[n.Node]) -> tuple[str, list[Fn]]:
        first = nodes[0]
        if first.type in _NUMS:
            kind, _, fs = self.numbers(nodes, numeric_context(*nodes))
            return kind, fs
        vals = [self.value(x) for x in nodes]
        return vals[0][0], [f for _, _, f in vals]

    def string_codes(self, operand: n.Node, items: Sequence[n.Node], inside: bool) -> Fn | None:
        """Fast path for ``s = "x"`` / ``s in [...]`` on a string column; None if not applicable."""
        if not (isinstance(operand, n.FieldRef) and operand.type is FieldType.STRING
                and all(isinstance(i, n.Literal) for i in items)):
            return None
        name, lits = operand.name, [cast(n.Literal, i).value for i in items]  # all Literal, checked above

        def codes_in(blk: Block) -> Any:
            codes, lookup = blk.factorized(name)
            idx = [lookup[v] for v in lits if v in lookup]
            if not idx:
                hit = np.zeros(blk.n, bool)
            else:
                hit = codes == idx[0]
                for i in idx[1:]:
                    hit |= codes == i
            return hit if inside else ~hit & (codes >= 0)

        return codes_in

    def compare(self, node: n.Compare, want: bool) -> Fn:
        if node.op in ("=", "!="):
            fast = self.string_codes(node.left, [node.right], (node.op == "=") == want)
            if fast is not None:
                return fast
        kind, (fa, fb) = self.operands([node.left, node.right])
        op = node.op
        if kind == "bool":
            same = (op == "=") == want

            def cmp_bool(blk: Block) -> Any:
                (at, af), (bt, bf) = fa(blk), fb(blk)
                return (at & bt) | (af & bf) if same else (at & bf) | (af & bt)

            return cmp_bool
        eff = op if want else _NEGATE[op]
        py = _OPS[eff]
        if kind == "float":
            if eff != "!=":
                return lambda blk: py(fa(blk), fb(blk))

            def ne(blk: Block) -> Any:
                a, b = fa(blk), fb(blk)
                return (a != b) & ~np.isnan(a) & ~np.isnan(b)

            return ne

        def cmp_masked(blk: Block) -> Any:
            (a, ma), (b, mb) = fa(blk), fb(blk)
            r = py(a, b)
            m = _or(ma, mb)
            return r if m is None else r & ~m

        return cmp_masked

    def inlist(self, node: n.InList, want: bool) -> Fn:
        fast = self.string_codes(node.operand, node.items, want != node.negated)
        if fast is not None:
            return fast
        kind, fs = self.operands([node.operand, *node.items])
        f0, items = fs[0], fs[1:]
        inside = want != node.negated

        def isin(blk: Block) -> Any:
            v = f0(blk)
            if kind == "float":
                m, vals = None, v
                consts = [f(blk) for f in items]
            else:
                vals, m = v
                consts = [f(blk)[0] for f in items]
            hit = vals == consts[0]
            for c in consts[1:]:
                hit = hit | (vals == c)
            if kind == "float":
                known = ~np.isnan(vals)
            else:
                known = None if m is None else ~m
            r = hit if inside else ~hit
            if kind == "float" and inside:
                return r
            return r if known is None else r & known

        return isin


def _combine(name: str, kind: str, fs: list[Fn]) -> Fn:
    if kind == "float":
        if name in ("min", "max"):
            ufunc = np.minimum if name == "min" else np.maximum

            def mm(blk: Block) -> Any:
                acc = fs[0](blk)
                for f in fs[1:]:
                    acc = ufunc(acc, f(blk))
                return acc

            return mm

        def coalesce_float(blk: Block) -> Any:
            acc = fs[-1](blk)
            for f in reversed(fs[:-1]):
                v = f(blk)
                acc = np.where(np.isnan(v), acc, v)
            return acc

        return coalesce_float
    if name in ("min", "max"):
        ufunc = np.minimum if name == "min" else np.maximum

        def mm_fixed(blk: Block) -> Any:
            acc, m = fs[0](blk)
            for f in fs[1:]:
                v, mv = f(blk)
                acc, m = ufunc(acc, v), _or(m, mv)
            return acc, m

        return mm_fixed

    def coalesce_masked(blk: Block) -> Any:
        acc, m = fs[-1](blk)
        for f in reversed(fs[:-1]):
            v, mv = f(blk)
            if mv is None:
                acc, m = v, None
                continue
            acc = np.where(mv, acc, v)
            m = None if m is None else (mv & m)
        return acc, m

    return coalesce_masked


_NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
}


def compile_frame_tree(tree: n.Node) -> Fn:
    """Closure ``block -> bool array`` that is true exactly where the rule hits."""
    fn = _Compiler().truth(tree, True)

    def rule(blk: Block) -> np.ndarray:
        r = fn(blk)
        if np.ndim(r) == 0:
            return np.full(blk.n, bool(r))
        return r

    return rule
