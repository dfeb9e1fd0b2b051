"""Hand-written tokenizer: the only code that ever looks at raw rule text.

Anything not listed here (dots, brackets of other kinds, names starting with ``_``) is rejected, so
Python-looking input such as ``x.__class__`` or ``__import__('os')`` never gets past this point.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RuleSyntaxError

__all__ = ["Token", "tokenize", "KEYWORDS"]

KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "missing", "true", "false"})
_TWO = {"==", "!=", "<=", ">="}
_ONE = set("=<>+-*/()[],")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "name", "kw", "op", "end"
    text: str
    value: object
    line: int
    column: int


def tokenize(source: str) -> list[Token]:
    out: list[Token] = []
    i, line, line_start, n = 0, 1, 0, len(source)

    def err(msg: str, at: int) -> RuleSyntaxError:
        return RuleSyntaxError(msg, line=line, column=at - line_start + 1, source=source)

    while i < n:
        ch = source[i]
        if ch == "\n":
            i += 1
            line, line_start = line + 1, i
            continue
        if ch in " \t\r\u3000":
            i += 1
            continue
        col = i - line_start + 1
        if ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            j = i
            while j < n and source[j].isdigit():
                j += 1
            if j < n and source[j] == ".":
                j += 1
                if j >= n or not source[j].isdigit():
                    raise err("a number may not end with '.'", j - 1)
                while j < n and source[j].isdigit():
                    j += 1
            if j < n and (source[j].isalpha() or source[j] == "_" or source[j] == "."):
                raise err(f"unexpected character {source[j]!r} after number", j)
            text = source[i:j]
            out.append(Token("num", text, text, line, col))
            i = j
            continue
        if ch in "\"'":
            j, buf = i + 1, []
            while True:
                if j >= n or source[j] == "\n":
                    raise err("unterminated string", i)
                c = source[j]
                if c == "\\" and j + 1 < n and source[j + 1] in "\\\"'":
                    buf.append(source[j + 1])
                    j += 2
                    continue
                if c == ch:
                    break
                buf.append(c)
                j += 1
            out.append(Token("str", source[i : j + 1], "".join(buf), line, col))
            i = j + 1
            continue
        if ch.isidentifier():
            j = i + 1
            while j < n and (source[j].isidentifier() or source[j].isdigit()):
                j += 1
            text = source[i:j]
            if text.startswith("_"):
                raise err(f"names may not start with '_': {text!r}", i)
            kind = "kw" if text in KEYWORDS else "name"
            out.append(Token(kind, text, text, line, col))
            i = j
            continue
        if source[i : i + 2] in _TWO:
            out.append(Token("op", source[i : i + 2], None, line, col))
            i += 2
            continue
        if ch in _ONE:
            out.append(Token("op", ch, None, line, col))
            i += 1
            continue
        raise err(f"unexpected character {ch!r}", i)
    out.append(Token("end", "", None, line, i - line_start + 1))
    return out
