"""Recursive-descent parser from tokens to the AST.

Precedence, lowest first: ``or``; ``and``; ``not``; comparisons (``= != < <= > >=``, ``in``,
``between``, ``is missing``; never chained); ``+ -``; ``* /``; unary ``-``; atoms.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal

from . import nodes as n
from .errors import RuleSyntaxError
from .lexer import Token, tokenize

__all__ = ["parse", "FUNCTIONS", "MAX_EXPRESSION_LENGTH", "MAX_DEPTH"]

#: Longest expression accepted, in characters: a rule is a line or a few, never a program.
MAX_EXPRESSION_LENGTH = 2000
#: Deepest expression tree accepted: parentheses, ``not``/``-`` prefixes and chained operators
#: (``a and b and c`` is three levels) all count. The parser and both evaluators recurse on the
#: tree, so this bound is what keeps them far from Python's recursion limit.
MAX_DEPTH = 48
FUNCTIONS = frozenset({"abs", "min", "max", "coalesce", "days_between", "len"})
_CMP = {"=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def parse(source: str) -> n.Node:
    """Parse one rule expression; raises RuleSyntaxError with position for anything else."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        line = source.count("\n", 0, MAX_EXPRESSION_LENGTH) + 1
        column = MAX_EXPRESSION_LENGTH - (source.rfind("\n", 0, MAX_EXPRESSION_LENGTH) + 1) + 1
        raise RuleSyntaxError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters; "
                              "split it into several rules", line=line, column=column, source=source)
    tree = _Parser(source).parse()
    _check_depth(tree, source)
    return tree


def _children(node: n.Node) -> list[n.Node]:
    found: list[n.Node] = []
    for value in vars(node).values():
        if isinstance(value, n.Node):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, n.Node))
    return found


def _check_depth(tree: n.Node, source: str) -> None:
    """Iterative, so that the check itself cannot overflow the stack it protects."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RuleSyntaxError(f"expression is nested more than {MAX_DEPTH} levels deep "
                                  "(parentheses, prefixes and chained operators all count); "
                                  "split it into several rules", line=node.line, column=node.column,
                                  source=source)
        stack.extend((child, depth + 1) for child in _children(node))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = tokenize(source)
        self.i = 0
        self.depth = 0

    # -- helpers -------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def error(self, msg: str, t: Token | None = None) -> RuleSyntaxError:
        t = t or self.tok
        return RuleSyntaxError(msg, line=t.line, column=t.column, source=self.source)

    def enter(self) -> None:
        """Count one level of recursion (a parenthesis, a call, a ``not`` or a ``-``) and refuse
        to go deeper than MAX_DEPTH, before Python's own stack runs out."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression is nested more than {MAX_DEPTH} levels deep; "
                             "split it into several rules")

    def expect(self, kind: str, text: str) -> Token:
        if not self.is_(kind, text):
            got = "end of rule" if self.tok.kind == "end" else repr(self.tok.text)
            raise self.error(f"expected {text!r}, found {got}")
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> n.Node:
        if self.tok.kind == "end":
            raise self.error("empty rule expression")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r}")
        return node

    def or_(self) -> n.Node:
        self.enter()
        node = self.and_()
        while self.is_("kw", "or"):
            t = self.advance()
            node = n.Logic(t.line, t.column, op="or", left=node, right=self.and_())
        self.depth -= 1
        return node

    def and_(self) -> n.Node:
        node = self.not_()
        while self.is_("kw", "and"):
            t = self.advance()
            node = n.Logic(t.line, t.column, op="and", left=node, right=self.not_())
        return node

    def not_(self) -> n.Node:
        if self.is_("kw", "not"):
            t = self.advance()
            self.enter()
            operand = self.not_()
            self.depth -= 1
            return n.Not(t.line, t.column, operand=operand)
        return self.comparison()

    def comparison(self) -> n.Node:
        left = self.additive()
        t = self.tok
        node: n.Node
        if t.kind == "op" and t.text in _CMP:
            self.advance()
            node = n.Compare(t.line, t.column, op=_CMP[t.text], left=left, right=self.additive())
        elif t.kind == "kw" and (t.text in ("in", "between") or (t.text == "not" and self.peek().text in ("in", "between"))):
            negated = t.text == "not"
            if negated:
                self.advance()
            kw = self.advance()
            if kw.text == "in":
                node = n.InList(t.line, t.column, operand=left, items=self.literal_list(), negated=negated)
            else:
                low = self.additive()
                self.expect("kw", "and")
                node = n.Between(t.line, t.column, operand=left, low=low, high=self.additive(), negated=negated)
        elif self.is_("kw", "is"):
            self.advance()
            negated = False
            if self.is_("kw", "not"):
                self.advance()
                negated = True
            self.expect("kw", "missing")
            node = n.IsMissing(t.line, t.column, operand=left, negated=negated)
        else:
            return left
        nxt = self.tok
        if (nxt.kind == "op" and nxt.text in _CMP) or (nxt.kind == "kw" and nxt.text in ("in", "between", "is")):
            raise self.error("comparisons cannot be chained; join them with 'and'", nxt)
        return node

    def additive(self) -> n.Node:
        node = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in "+-":
            t = self.advance()
            node = n.Arith(t.line, t.column, op=t.text, left=node, right=self.multiplicative())
        return node

    def multiplicative(self) -> n.Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            t = self.advance()
            node = n.Arith(t.line, t.column, op=t.text, left=node, right=self.unary())
        return node

    def unary(self) -> n.Node:
        if self.is_("op", "-"):
            t = self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, n.Literal) and isinstance(operand.value, Decimal):
                return n.Literal(t.line, t.column, value=-operand.value)
            return n.Neg(t.line, t.column, operand=operand)
        return self.primary()

    def primary(self) -> n.Node:
        t = self.tok
        if t.kind in ("num", "str") or (t.kind == "kw" and t.text in ("true", "false")):
            return self.literal()
        if t.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                if t.text == "date":
                    return self.literal()
                return self.call()
            self.advance()
            return n.FieldRef(t.line, t.column, name=t.text)
        if self.is_("op", "("):
            self.advance()
            node = self.or_()
            self.expect("op", ")")
            return node
        if t.kind == "end":
            raise self.error("rule ends too early")
        raise self.error(f"unexpected {t.text!r}")

    def call(self) -> n.Node:
        name = self.advance()
        if name.text not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS | {"date"}))
            raise self.error(f"unknown function {name.text!r}; allowed: {allowed}", name)
        self.expect("op", "(")
        args: list[n.Node] = []
        if not self.is_("op", ")"):
            args.append(self.or_())
            while self.is_("op", ","):
                self.advance()
                args.append(self.or_())
        self.expect("op", ")")
        return n.Call(name.line, name.column, name=name.text, args=args)

    def literal(self) -> n.Literal:
        t = self.tok
        if t.kind == "op" and t.text == "-" and self.peek().kind == "num":
            self.advance()
            num = self.advance()
            return n.Literal(t.line, t.column, value=-Decimal(num.text))
        self.advance()
        if t.kind == "num":
            return n.Literal(t.line, t.column, value=Decimal(t.text))
        if t.kind == "str":
            return n.Literal(t.line, t.column, value=t.value)
        if t.kind == "kw" and t.text in ("true", "false"):
            return n.Literal(t.line, t.column, value=t.text == "true")
        if t.kind == "name" and t.text == "date":
            self.expect("op", "(")
            s = self.tok
            if s.kind != "str":
                raise self.error('date() takes one quoted date, e.g. date("2024-01-31")')
            self.advance()
            try:
                value = _dt.date.fromisoformat(str(s.value))
                if len(str(s.value)) != 10:
                    raise ValueError
            except ValueError:
                raise self.error(f"invalid date {s.text}; write YYYY-MM-DD", s) from None
            self.expect("op", ")")
            return n.Literal(t.line, t.column, value=value)
        raise self.error(f"expected a literal value, found {t.text!r}", t)

    def literal_list(self) -> list[n.Literal]:
        self.expect("op", "[")
        items = [self.literal()]
        while self.is_("op", ","):
            self.advance()
            items.append(self.literal())
        self.expect("op", "]")
        return items
