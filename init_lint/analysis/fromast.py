"""The LibCST tree the analysis reads, built from CPython's AST instead of by LibCST's parser.

LibCST's parser builds a Python object for every token, whitespace run and comment; the
analysis reads none of them (they are layout), and on timm + torchvision the parse cost as much
as the whole analysis after it. CPython's AST of the file, which the referee compile has built
anyway, holds the same code: this builds LibCST's nodes from it with default layout, and keeps
each node's source span, so that positions need no code-generation pass either.

The tree equals what ``libcst.parse_module`` gives for the same text, up to layout fields
(``tests/test_fromast.py`` checks nodes and positions on every fixture, and on timm and
torchvision when they are at hand). What it does not build returns None and the caller parses
with LibCST: syntax this module does not know (``match``, type parameters), a name CPython's
AST spells otherwise than the text (NFKC), a backslash before a lone CR (LibCST numbers the
lines after it otherwise). String literals made of several tokens and f-strings are parsed by
LibCST alone (an expression each: few).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, cast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from ..cstparse import unvalidated
from ..lines import line_starts, split_lines


class _Constructors:
    """``_new.Call(func=..., args=...)`` is ``cst.Call(...)``, without building a new default
    whitespace node for each field that has one. LibCST's default factories build a node per
    field per node: more than half the cost of building the tree. Here each class's defaults
    are built once and shared (nodes are immutable, and the analysis reads no layout)."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        cls = getattr(cst, name)
        shared = {
            f.name: f.default_factory()
            for f in dataclasses.fields(cls)
            if f.default_factory is not dataclasses.MISSING
        }

        def build(*args: Any, **fields: Any) -> Any:
            return cls(*args, **{**shared, **fields})

        made = build if shared else cls
        setattr(self, name, made)  # the next lookup finds it without __getattr__
        return made


_new = _Constructors()


class Unsupported(Exception):
    """Syntax this module does not build: parse the file with LibCST."""


class Spans:
    """Source ranges of the built nodes (as LibCST's PositionProvider gives them), by id.

    A node's span is kept as the AST gives it: its AST node, or (line, column, end line, end
    column) with 1-based lines and columns in UTF-8 bytes; it becomes a range in characters
    only when asked for (few are).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = split_lines(text)
        self.ascii = text.isascii()  # then a column in bytes is one in characters
        self.raw: dict[int, Any] = {}
        #: Ranges computed in characters already (brackets taken off a tuple's span).
        self.exact: dict[int, CodeRange] = {}
        self._starts: list[int] | None = None

    def get(self, key: int, default: CodeRange | None = None) -> CodeRange | None:
        raw = self.raw.get(key)
        if raw is None:
            return self.exact.get(key, default)
        return self.range_of(raw)

    def range_of(self, raw: Any) -> CodeRange:
        """The range of an AST node or of a span in bytes."""
        line, column, end_line, end_column = _bytes_span(raw)
        return CodeRange(
            CodePosition(line, self._chars(line, column)),
            CodePosition(end_line, self._chars(end_line, end_column)),
        )

    def source(self, node: cst.CSTNode) -> str | None:
        """The node's text in the file, or None when its span is not known."""
        where = self.get(id(node))
        if where is None:
            return None
        return self.text[self.offset(where.start) : self.offset(where.end)]

    def offset(self, position: CodePosition) -> int:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts[min(position.line, len(self._starts) - 1)] + position.column

    def position(self, offset: int) -> CodePosition:
        if self._starts is None:
            self._starts = line_starts(self.text)
        line = bisect_right(self._starts, offset, 1) - 1
        return CodePosition(line, offset - self._starts[line])

    def slice(self, raw: Any) -> str:
        """The text of an AST node or of a span in bytes."""
        line, column, end_line, end_column = _bytes_span(raw)
        if self._starts is None:
            self._starts = line_starts(self.text)
        starts, last = self._starts, len(self._starts) - 1
        start = starts[min(line, last)] + self._chars(line, column)
        return self.text[start : starts[min(end_line, last)] + self._chars(end_line, end_column)]

    def _chars(self, line: int, byte_column: int) -> int:
        """A column in UTF-8 bytes as a column in characters."""
        if self.ascii:
            return byte_column
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_column
        encoded = text.encode("utf-8", "surrogatepass")
        return len(encoded[:byte_column].decode("utf-8", "ignore"))


def _bytes_span(raw: Any) -> tuple[int, int, int, int]:
    if type(raw) is tuple:
        return raw
    return raw.lineno, raw.col_offset, raw.end_lineno, raw.end_col_offset


def module_from_ast(
    tree: ast.Module, text: str, elided: Sequence[ast.expr] = ()
) -> tuple[cst.Module, Spans] | None:
    """LibCST's tree of ``text`` (whose AST is ``tree``) and its spans; None for syntax this
    module does not build. ``elided``: container literals the analysis is to see as
    ``(...)`` (see :mod:`init_lint.shape`)."""
    if not text.isascii() and _normalized_names(text):
        return None
    if "\r" in text and _BACKSLASH_CR.search(text):
        return None  # LibCST counts the lines after a backslash and a lone CR otherwise
    spans = Spans(text)
    builder = _Builder(spans, {id(node) for node in elided})
    try:
        with unvalidated():
            body = builder.block(tree.body)
            module = _new.Module(
                body=cast(Sequence[cst.SimpleStatementLine | cst.BaseCompoundStatement], body),
                default_indent=builder.indent or "    ",
                default_newline=_first_newline(text),
                has_trailing_newline=_ends_with_newline(text),
            )
    except (Unsupported, cst.ParserSyntaxError, KeyError):
        return None
    return module, spans


_NEWLINE = re.compile(r"\r\n?|\n")


def _normalized_names(text: str) -> bool:
    """Whether a name is written otherwise than CPython's AST spells it (in NFKC: a letter in
    bold, superscript or full width); LibCST keeps what is written. Most texts are in NFKC
    throughout (one check in C); the others are tokenized."""
    if unicodedata.is_normalized("NFKC", text):
        return False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            name = token.string
            if token.type == tokenize.NAME and not name.isascii():
                if unicodedata.normalize("NFKC", name) != name:
                    return True
    except (tokenize.TokenError, SyntaxError):
        return True  # cannot tell: leave it to LibCST
    return False


_BACKSLASH_CR = re.compile(r"\\\r(?!\n)")
_CONTINUED = re.compile(r"\\(?:\r\n?|\n)")


def _ends_with_newline(text: str) -> bool:
    """LibCST's reading: a final line break, unless a backslash is right before it (even in
    a comment)."""
    if not text or text[-1] not in "\r\n":
        return False
    return not (_CONTINUED.fullmatch(text[-2:]) or _CONTINUED.fullmatch(text[-3:]))


def _first_newline(text: str) -> str:
    found = _NEWLINE.search(text)
    return found.group(0) if found is not None else "\n"


#: One string literal token (a prefix, then one quoted part): anything else is several.
_ONE_STRING = re.compile(
    r"""[rRbBuU]{0,2}(?:'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\""""
    r"""|'(?:[^'\\\n\r]|\\.|\\\r\n)*'|"(?:[^"\\\n\r]|\\.|\\\r\n)*")""",
    re.DOTALL,
)

# Operators are leaves without layout the analysis reads: one node of each, shared.
_BINARY: dict[type, cst.BaseBinaryOp] = {
    ast.Add: _new.Add(), ast.Sub: _new.Subtract(), ast.Mult: _new.Multiply(),
    ast.MatMult: _new.MatrixMultiply(), ast.Div: _new.Divide(),
    ast.FloorDiv: _new.FloorDivide(), ast.Mod: _new.Modulo(), ast.Pow: _new.Power(),
    ast.LShift: _new.LeftShift(), ast.RShift: _new.RightShift(), ast.BitOr: _new.BitOr(),
    ast.BitXor: _new.BitXor(), ast.BitAnd: _new.BitAnd(),
}  # fmt: skip
_AUGMENTED: dict[type, cst.BaseAugOp] = {
    ast.Add: _new.AddAssign(), ast.Sub: _new.SubtractAssign(),
    ast.Mult: _new.MultiplyAssign(), ast.MatMult: _new.MatrixMultiplyAssign(),
    ast.Div: _new.DivideAssign(), ast.FloorDiv: _new.FloorDivideAssign(),
    ast.Mod: _new.ModuloAssign(), ast.Pow: _new.PowerAssign(),
    ast.LShift: _new.LeftShiftAssign(), ast.RShift: _new.RightShiftAssign(),
    ast.BitOr: _new.BitOrAssign(), ast.BitXor: _new.BitXorAssign(),
    ast.BitAnd: _new.BitAndAssign(),
}  # fmt: skip
_UNARY: dict[type, cst.BaseUnaryOp] = {
    ast.UAdd: _new.Plus(), ast.USub: _new.Minus(), ast.Not: _new.Not(),
    ast.Invert: _new.BitInvert(),
}  # fmt: skip
_COMPARE: dict[type, cst.BaseCompOp] = {
    ast.Eq: _new.Equal(), ast.NotEq: _new.NotEqual(), ast.Lt: _new.LessThan(),
    ast.LtE: _new.LessThanEqual(), ast.Gt: _new.GreaterThan(),
    ast.GtE: _new.GreaterThanEqual(), ast.Is: _new.Is(), ast.IsNot: _new.IsNot(),
    ast.In: _new.In(), ast.NotIn: _new.NotIn(),
}  # fmt: skip
_BOOLEAN: dict[type, cst.BaseBooleanOp] = {ast.And: _new.And(), ast.Or: _new.Or()}
_SMALL = (
    ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise, ast.Assert,
    ast.Pass, ast.Break, ast.Continue, ast.Delete, ast.Global, ast.Nonlocal, ast.Import,
    ast.ImportFrom,
)  # fmt: skip


class _Builder:
    def __init__(self, spans: Spans, elided: set[int]) -> None:
        self.spans = spans
        self.raw = spans.raw
        self.exact = spans.exact
        self.lines = spans.lines
        self.elided = elided
        self.indent: str | None = None  # of the file's first indented block
        self._indent_line: int | None = None

    # ------------------------------------------------------------------ text
    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def _text(self, node: Any) -> str:
        """The source of an AST node."""
        line = node.lineno
        if self.spans.ascii and line == node.end_lineno:  # most: a number, a short string
            return self.lines[line - 1][node.col_offset : node.end_col_offset]
        return self.spans.slice(node)

    def _on_header_line(self, statement: ast.stmt) -> bool:
        """Whether a block's first statement follows its header on the same logical line
        (``if x: y = 1``, also after a backslash continuation)."""
        spans = self.spans
        text = spans.text
        offset = spans.offset(CodePosition(statement.lineno, 0)) + spans._chars(
            statement.lineno, statement.col_offset
        )
        while offset > 0:
            char = text[offset - 1]
            if char in " \t\f":
                offset -= 1
            elif char in "\r\n":
                offset -= 2 if text[offset - 2 : offset] == "\r\n" else 1
                if offset == 0 or text[offset - 1] != "\\":
                    return False
                offset -= 1  # a continued line: go on before the backslash
            else:
                return True
        return False

    # ------------------------------------------------------------------ statements
    def block(self, statements: list[ast.stmt]) -> tuple[cst.BaseStatement, ...]:
        """Statements as LibCST groups them: small ones that share a logical line (``a = 1;
        b = 2``) are one SimpleStatementLine."""
        built: list[cst.BaseStatement] = []
        group: list[cst.BaseSmallStatement] = []
        first: ast.stmt | None = None
        last: ast.stmt | None = None
        for statement in statements:
            if isinstance(statement, _SMALL):
                if group and last is not None and not self._same_line(last, statement):
                    built.append(self._line_of(group, first, last))
                    group = []
                if not group:
                    first = statement
                group.append(self.small(statement))
                last = statement
                continue
            if group:
                built.append(self._line_of(group, first, last))
                group = []
            built.append(self.compound(statement))
        if group:
            built.append(self._line_of(group, first, last))
        return tuple(built)

    def _same_line(self, last: ast.stmt, statement: ast.stmt) -> bool:
        """Whether a statement follows the last after a ``;`` (on its line, or after a
        backslash continuation: ``a \\`` then ``; b``)."""
        if statement.lineno == last.end_lineno:
            return True
        if not self._line(last.end_lineno or last.lineno).rstrip().endswith("\\"):
            return False
        spans = self.spans
        end = spans.offset(spans.range_of(last).end)
        return spans.text[_skip_layout(spans.text, end, len(spans.text)) :][:1] == ";"

    def _line_of(
        self, body: list[cst.BaseSmallStatement], first: Any, last: Any
    ) -> cst.SimpleStatementLine:
        line = _new.SimpleStatementLine(body=tuple(body))
        self.raw[id(line)] = (first.lineno, first.col_offset, last.end_lineno, last.end_col_offset)
        return line

    def suite(self, statements: list[ast.stmt]) -> cst.BaseSuite:
        first = statements[0]
        if isinstance(first, _SMALL) and self._on_header_line(first):
            suite: cst.BaseSuite = _new.SimpleStatementSuite(
                body=tuple(self.small(cast(ast.stmt, s)) for s in statements)
            )
            self.raw[id(suite)] = _from_to(first, statements[-1])
            return suite
        if self._indent_line is None or first.lineno < self._indent_line:
            # The first indented block of the file (blocks are not built in file order).
            line = self._line(first.lineno)
            self._indent_line = first.lineno
            self.indent = line[: len(line) - len(line.lstrip())] or None
        block = _new.IndentedBlock(body=self.block(statements))
        self.raw[id(block)] = _from_to(first, statements[-1])
        return block

    def small(self, node: ast.stmt) -> cst.BaseSmallStatement:
        built = _SMALL_BUILDERS[type(node)](self, node)
        self.raw[id(built)] = node
        return built

    def compound(self, node: ast.stmt) -> cst.BaseCompoundStatement:
        builder = _COMPOUND_BUILDERS.get(type(node))
        if builder is None:
            raise Unsupported(type(node).__name__)
        built = builder(self, node)
        self.raw[id(built)] = _from_to(node, node)
        return built

    def _else(self, statements: list[ast.stmt]) -> cst.Else | None:
        return _new.Else(body=self.suite(statements)) if statements else None

    # small statements
    def _expr_statement(self, node: ast.Expr) -> cst.BaseSmallStatement:
        return _new.Expr(value=self.expr(node.value))

    def _assign(self, node: ast.Assign) -> cst.BaseSmallStatement:
        targets = tuple(self._target(t) for t in node.targets)
        return _new.Assign(targets=targets, value=self.expr(node.value))

    def _target(self, node: ast.expr) -> cst.AssignTarget:
        target = _new.AssignTarget(target=cast(cst.BaseAssignTargetExpression, self.expr(node)))
        self.raw[id(target)] = node
        return target

    def _aug_assign(self, node: ast.AugAssign) -> cst.BaseSmallStatement:
        return _new.AugAssign(
            target=cast(cst.BaseAssignTargetExpression, self.expr(node.target)),
            operator=_AUGMENTED[type(node.op)],
            value=self.expr(node.value),
        )

    def _ann_assign(self, node: ast.AnnAssign) -> cst.BaseSmallStatement:
        return _new.AnnAssign(
            target=cast(cst.BaseAssignTargetExpression, self.expr(node.target)),
            annotation=self._annotation(node.annotation),
            value=self.optional(node.value),
        )

    def _annotation(self, node: ast.expr) -> cst.Annotation:
        return _new.Annotation(annotation=self.expr(node))

    def _return(self, node: ast.Return) -> cst.BaseSmallStatement:
        return _new.Return(value=self.optional(node.value))

    def _raise(self, node: ast.Raise) -> cst.BaseSmallStatement:
        cause = _new.From(item=self.expr(node.cause)) if node.cause is not None else None
        return _new.Raise(exc=self.optional(node.exc), cause=cause)

    def _assert(self, node: ast.Assert) -> cst.BaseSmallStatement:
        return _new.Assert(test=self.expr(node.test), msg=self.optional(node.msg))

    def _delete(self, node: ast.Delete) -> cst.BaseSmallStatement:
        if len(node.targets) == 1:
            target = self.expr(node.targets[0])
        else:
            target = _new.Tuple(elements=tuple(_new.Element(self.expr(t)) for t in node.targets))
        return _new.Del(target=cast(cst.BaseDelTargetExpression, target))

    def _global(self, node: ast.Global) -> cst.BaseSmallStatement:
        return _new.Global(names=tuple(_new.NameItem(_new.Name(n)) for n in node.names))

    def _nonlocal(self, node: ast.Nonlocal) -> cst.BaseSmallStatement:
        return _new.Nonlocal(names=tuple(_new.NameItem(_new.Name(n)) for n in node.names))

    def _import(self, node: ast.Import) -> cst.BaseSmallStatement:
        return _new.Import(names=tuple(self._alias(a) for a in node.names))

    def _import_from(self, node: ast.ImportFrom) -> cst.BaseSmallStatement:
        names: Sequence[cst.ImportAlias] | cst.ImportStar
        if len(node.names) == 1 and node.names[0].name == "*":
            names = _new.ImportStar()
        else:
            names = tuple(self._alias(a) for a in node.names)
        module = _dotted(node.module) if node.module else None
        return _new.ImportFrom(
            module=module, names=names, relative=tuple(_new.Dot() for _ in range(node.level or 0))
        )

    def _alias(self, node: ast.alias) -> cst.ImportAlias:
        asname = _new.AsName(name=_new.Name(node.asname)) if node.asname else None
        alias = _new.ImportAlias(name=_dotted(node.name), asname=asname)
        if hasattr(node, "lineno"):
            self.raw[id(alias)] = node
        return alias

    # compound statements
    def _if(self, node: ast.If) -> cst.BaseCompoundStatement:
        orelse: cst.If | cst.Else | None = None
        if node.orelse:
            chained = node.orelse[0]
            elif_ = (
                len(node.orelse) == 1
                and isinstance(chained, ast.If)
                and self._line(chained.lineno)[
                    self.spans._chars(chained.lineno, chained.col_offset) :
                ].startswith("elif")
            )
            if elif_:
                orelse = cast(cst.If, self.compound(chained))
            else:
                orelse = self._else(node.orelse)
        return _new.If(test=self.expr(node.test), body=self.suite(node.body), orelse=orelse)

    def _for(self, node: ast.For | ast.AsyncFor) -> cst.BaseCompoundStatement:
        return _new.For(
            target=cast(cst.BaseAssignTargetExpression, self.expr(node.target)),
            iter=self.expr(node.iter),
            body=self.suite(node.body),
            orelse=self._else(node.orelse),
            asynchronous=_new.Asynchronous() if isinstance(node, ast.AsyncFor) else None,
        )

    def _while(self, node: ast.While) -> cst.BaseCompoundStatement:
        return _new.While(
            test=self.expr(node.test), body=self.suite(node.body), orelse=self._else(node.orelse)
        )

    def _try(self, node: Any) -> cst.BaseCompoundStatement:
        star = type(node).__name__ == "TryStar"
        handler_class: Any = _new.ExceptStarHandler if star else _new.ExceptHandler
        handlers = []
        for handler in node.handlers:
            name = _new.AsName(name=_new.Name(handler.name)) if handler.name else None
            built = handler_class(
                body=self.suite(handler.body), type=self.optional(handler.type), name=name
            )
            self.raw[id(built)] = _from_to(handler, handler)
            handlers.append(built)
        finalbody = _new.Finally(body=self.suite(node.finalbody)) if node.finalbody else None
        try_class: Any = _new.TryStar if star else _new.Try
        return cast(
            cst.BaseCompoundStatement,
            try_class(
                body=self.suite(node.body),
                handlers=tuple(handlers),
                orelse=self._else(node.orelse),
                finalbody=finalbody,
            ),
        )

    def _with(self, node: ast.With | ast.AsyncWith) -> cst.BaseCompoundStatement:
        items = []
        for item in node.items:
            target = item.optional_vars
            asname = (
                _new.AsName(name=cast(cst.Name, self.expr(target))) if target is not None else None
            )
            items.append(_new.WithItem(item=self.expr(item.context_expr), asname=asname))
        return _new.With(
            items=tuple(items),
            body=self.suite(node.body),
            asynchronous=_new.Asynchronous() if isinstance(node, ast.AsyncWith) else None,
        )

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> cst.BaseCompoundStatement:
        if getattr(node, "type_params", None):
            raise Unsupported("type parameters")
        returns = self._annotation(node.returns) if node.returns is not None else None
        return _new.FunctionDef(
            name=self._defined_name(node, node.name),
            params=self.parameters(node.args),
            body=self.suite(node.body),
            decorators=self._decorators(node.decorator_list),
            returns=returns,
            asynchronous=(_new.Asynchronous() if isinstance(node, ast.AsyncFunctionDef) else None),
        )

    def _class(self, node: ast.ClassDef) -> cst.BaseCompoundStatement:
        if getattr(node, "type_params", None):
            raise Unsupported("type parameters")
        bases = tuple(self._positional(b) for b in node.bases)
        keywords = tuple(self._keyword(k) for k in node.keywords)
        return _new.ClassDef(
            name=self._defined_name(node, node.name),
            body=self.suite(node.body),
            bases=bases,
            keywords=keywords,
            decorators=self._decorators(node.decorator_list),
        )

    def _name_at(self, identifier: str, node: Any) -> cst.Name:
        """A name written first in an AST node (a parameter, a keyword argument)."""
        built = _new.Name(identifier)
        size = len(identifier.encode("utf-8", "surrogatepass"))
        self.raw[id(built)] = (node.lineno, node.col_offset, node.lineno, node.col_offset + size)
        return built

    def _defined_name(self, node: Any, name: str) -> cst.Name:
        """The name after ``def``/``class``: found on the statement's first line."""
        built = _new.Name(name)
        line = self._line(node.lineno)
        head = self.spans._chars(node.lineno, node.col_offset)
        found = _DEFINES.match(line, head)
        if found is not None and line.startswith(name, found.end()):
            start = len(line[: found.end()].encode("utf-8", "surrogatepass"))
            size = len(name.encode("utf-8", "surrogatepass"))
            self.raw[id(built)] = (node.lineno, start, node.lineno, start + size)
        return built

    def _decorators(self, nodes: list[ast.expr]) -> tuple[cst.Decorator, ...]:
        return tuple(_new.Decorator(decorator=self.expr(d)) for d in nodes)

    # ------------------------------------------------------------------ parameters
    def parameters(self, node: ast.arguments) -> cst.Parameters:
        positional = [*node.posonlyargs, *node.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(node.defaults))
        defaults += node.defaults
        built = [self._param(a, d) for a, d in zip(positional, defaults, strict=True)]
        only = len(node.posonlyargs)
        star_arg: cst.Param | cst.ParamStar | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
        if node.vararg is not None:
            star_arg = self._param(node.vararg, None, "*")
        elif node.kwonlyargs:
            star_arg = _new.ParamStar()
        kwonly = [self._param(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True)]
        star_kwarg = self._param(node.kwarg, None, "**") if node.kwarg is not None else None
        return _new.Parameters(
            params=tuple(built[only:]),
            star_arg=star_arg,
            kwonly_params=tuple(kwonly),
            star_kwarg=star_kwarg,
            posonly_params=tuple(built[:only]),
            posonly_ind=_new.ParamSlash() if only else cst.MaybeSentinel.DEFAULT,
        )

    def _param(self, node: ast.arg, default: ast.expr | None, star: str = "") -> cst.Param:
        annotation = self._annotation(node.annotation) if node.annotation is not None else None
        name = self._name_at(node.arg, node)
        return _new.Param(
            name=name, annotation=annotation, default=self.optional(default), star=star
        )

    # ------------------------------------------------------------------ expressions
    def optional(self, node: ast.expr | None) -> Any:
        return self.expr(node) if node is not None else None

    def expr(self, node: ast.expr) -> cst.BaseExpression:
        builder = _EXPRESSION_BUILDERS.get(type(node))
        if self.elided and id(node) in self.elided:
            built: cst.BaseExpression = _new.Ellipsis()
        elif builder is None:
            raise Unsupported(type(node).__name__)
        else:
            built = builder(self, node)
        key = id(built)
        if key not in self.exact:  # a tuple's or generator's own range, without brackets
            self.raw[key] = node
        return built

    def _name(self, node: ast.Name) -> cst.BaseExpression:
        return _new.Name(node.id)

    def _attribute(self, node: ast.Attribute) -> cst.BaseExpression:
        attr = _new.Name(node.attr)
        end_line, end = node.end_lineno or node.lineno, node.end_col_offset or 0
        self.raw[id(attr)] = (
            end_line, end - len(node.attr.encode("utf-8", "surrogatepass")), end_line, end
        )  # fmt: skip
        return _new.Attribute(value=self.expr(node.value), attr=attr)

    def _constant(self, node: ast.Constant) -> cst.BaseExpression:
        value = node.value
        if value is None or value is True or value is False:
            return _new.Name(repr(value))
        if value is Ellipsis:
            return _new.Ellipsis()
        text = self._text(node)
        if isinstance(value, (str, bytes)):
            if _ONE_STRING.fullmatch(text):
                return _new.SimpleString(text)
            return self._reparsed(text)
        if isinstance(value, complex):
            return _new.Imaginary(text)
        if isinstance(value, float):
            return _new.Float(text)
        if isinstance(value, int):
            return _new.Integer(text)
        raise Unsupported(type(value).__name__)

    def _reparsed(self, text: str) -> cst.BaseExpression:
        """Several string tokens or an f-string: LibCST's own parse of that expression (its
        parts get no spans)."""
        parsed = cst.parse_expression(f"({text}\n)")
        return parsed.with_changes(lpar=(), rpar=())

    def _joined(self, node: ast.JoinedStr) -> cst.BaseExpression:
        return self._reparsed(self._text(node))

    def _call(self, node: ast.Call) -> cst.BaseExpression:
        arguments: list[tuple[tuple[int, int], cst.Arg]] = []
        for value in node.args:
            arguments.append(((value.lineno, value.col_offset), self._positional(value)))
        for keyword in node.keywords:
            arguments.append(((keyword.lineno, keyword.col_offset), self._keyword(keyword)))
        if node.keywords and node.args:
            arguments.sort(key=lambda pair: pair[0])
        func = self.expr(node.func)
        args = tuple(arg for _, arg in arguments)
        if self._bracketed_argument(node):
            self._widen_arguments(node, args)
        sole = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if isinstance(sole, ast.GeneratorExp) and (sole.lineno, sole.col_offset) == (
            node.func.end_lineno,
            node.func.end_col_offset,
        ):  # ``f(x for x in y)``: the call's brackets are the generator's, not the argument's
            self.raw.pop(id(args[0]), None)
            self.spans.exact[id(args[0])] = self.spans.exact[id(args[0].value)]
        return _new.Call(func=func, args=args)

    def _bracketed_argument(self, node: ast.Call) -> bool:
        """Whether a positional argument stands in brackets of its own (``f((a))``): a bracket
        just before its value that is not the call's."""
        func = node.func
        for index, value in enumerate(node.args):
            line = self._line(value.lineno)
            column = self.spans._chars(value.lineno, value.col_offset)
            if column == 0 or line[column - 1] != "(":
                continue
            calls = value.lineno == func.end_lineno and value.col_offset - 1 == func.end_col_offset
            if not (index == 0 and calls):
                return True
        return False

    def _widen_arguments(self, node: ast.Call, args: tuple[cst.Arg, ...]) -> None:
        """LibCST's range of an argument holds the brackets around its value."""
        spans, text = self.spans, self.spans.text
        low = spans.offset(spans.range_of(node.func).end)
        low = text.index("(", low) + 1 if "(" in text[low:] else low
        for arg in args:
            where = spans.get(id(arg))
            if where is None:
                continue
            start, end = spans.offset(where.start), spans.offset(where.end)
            if arg.keyword is None and not arg.star:
                opened, before = 0, start
                while before > low and text[before - 1] in " \t\f\r\n\\(":
                    before -= 1
                    if text[before] == "(":
                        opened, start = opened + 1, before
                closed, after = 0, _skip_layout(text, end, len(text))
                while closed < opened and after < len(text) and text[after] == ")":
                    closed, end = closed + 1, after + 1
                    after = _skip_layout(text, end, len(text))
                if closed < opened:  # not brackets of its own after all
                    start = spans.offset(where.start)
                elif opened:
                    self.raw.pop(id(arg), None)
                    spans.exact[id(arg)] = CodeRange(spans.position(start), spans.position(end))
            low = end

    def _positional(self, node: ast.expr) -> cst.Arg:
        if isinstance(node, ast.Starred):
            arg = _new.Arg(value=self.expr(node.value), star="*")
        else:
            arg = _new.Arg(value=self.expr(node))
        self.raw[id(arg)] = node
        return arg

    def _keyword(self, node: ast.keyword) -> cst.Arg:
        if node.arg is None:
            arg = _new.Arg(value=self.expr(node.value), star="**")
        else:
            arg = _new.Arg(value=self.expr(node.value), keyword=self._name_at(node.arg, node))
        self.raw[id(arg)] = node
        return arg

    def _binary(self, node: ast.BinOp) -> cst.BaseExpression:
        return _new.BinaryOperation(
            left=self.expr(node.left),
            operator=_BINARY[type(node.op)],
            right=self.expr(node.right),
        )

    def _unary(self, node: ast.UnaryOp) -> cst.BaseExpression:
        return _new.UnaryOperation(
            operator=_UNARY[type(node.op)], expression=self.expr(node.operand)
        )

    def _boolean(self, node: ast.BoolOp) -> cst.BaseExpression:
        operator = _BOOLEAN[type(node.op)]
        values = node.values
        built = self.expr(values[0])
        for index, value in enumerate(values[1:], start=1):
            built = _new.BooleanOperation(left=built, operator=operator, right=self.expr(value))
            if index < len(values) - 1:  # the outermost gets the node's own span
                self._left_part(built, node, values[index])
        return built

    def _left_part(self, built: cst.CSTNode, node: Any, last: Any) -> None:
        """The span of ``a or b`` in ``a or b or c``: to ``b``'s end with its brackets (a
        bracket after ``b`` is its own: another operand follows)."""
        spans, text = self.spans, self.spans.text
        outer, tail = spans.range_of(node), spans.range_of(last)
        end = spans.offset(tail.end)
        after = _skip_layout(text, end, len(text))
        while after < len(text) and text[after] == ")":
            end = after + 1
            after = _skip_layout(text, end, len(text))
        spans.exact[id(built)] = CodeRange(outer.start, spans.position(end))

    def _compare(self, node: ast.Compare) -> cst.BaseExpression:
        targets = tuple(
            _new.ComparisonTarget(operator=_COMPARE[type(op)], comparator=self.expr(right))
            for op, right in zip(node.ops, node.comparators, strict=True)
        )
        return _new.Comparison(left=self.expr(node.left), comparisons=targets)

    def _if_expression(self, node: ast.IfExp) -> cst.BaseExpression:
        return _new.IfExp(
            test=self.expr(node.test), body=self.expr(node.body), orelse=self.expr(node.orelse)
        )

    def _lambda(self, node: ast.Lambda) -> cst.BaseExpression:
        return _new.Lambda(params=self.parameters(node.args), body=self.expr(node.body))

    def _named(self, node: ast.NamedExpr) -> cst.BaseExpression:
        return _new.NamedExpr(target=self.expr(node.target), value=self.expr(node.value))

    def _await(self, node: ast.Await) -> cst.BaseExpression:
        return _new.Await(expression=self.expr(node.value))

    def _yield(self, node: ast.Yield) -> cst.BaseExpression:
        return _new.Yield(value=self.optional(node.value))

    def _yield_from(self, node: ast.YieldFrom) -> cst.BaseExpression:
        return _new.Yield(value=_new.From(item=self.expr(node.value)))

    def _elements(self, nodes: list[ast.expr]) -> tuple[cst.BaseElement, ...]:
        return tuple(
            _new.StarredElement(value=self.expr(n.value))
            if isinstance(n, ast.Starred)
            else _new.Element(value=self.expr(n))
            for n in nodes
        )

    def _tuple(self, node: ast.Tuple) -> cst.BaseExpression:
        built = _new.Tuple(elements=self._elements(node.elts))
        if node.elts and self._parenthesized(node):
            self._inside_brackets(built, node, node.elts[0], node.elts[-1])
        elif not node.elts:  # ``()``: an empty range just inside the brackets
            inside = self.spans.range_of(node).start
            inside = CodePosition(inside.line, inside.column + 1)
            self.spans.exact[id(built)] = CodeRange(inside, inside)
        return built

    def _inside_brackets(self, built: cst.CSTNode, node: Any, first: Any, last: Any) -> None:
        """LibCST's range of a bracketed tuple or generator leaves its brackets out: from
        its first part (with that part's own brackets) to its last (and a trailing comma)."""
        spans, text = self.spans, self.spans.text
        outer, head, tail = spans.range_of(node), spans.range_of(first), spans.range_of(last)
        low, high = spans.offset(outer.start) + 1, spans.offset(outer.end) - 1
        start, end = spans.offset(head.start), spans.offset(tail.end)
        before = start
        while before > low and text[before - 1] in " \t\f\r\n\\(":
            before -= 1
            if text[before] == "(":
                start = before
        after = _skip_layout(text, end, high)
        while after < high and text[after] in "),":
            end = after + 1
            after = _skip_layout(text, end, high)
        self.raw.pop(id(built), None)
        spans.exact[id(built)] = CodeRange(spans.position(start), spans.position(end))

    def _list(self, node: ast.List) -> cst.BaseExpression:
        return _new.List(elements=self._elements(node.elts))

    def _set(self, node: ast.Set) -> cst.BaseExpression:
        return _new.Set(elements=self._elements(node.elts))

    def _dict(self, node: ast.Dict) -> cst.BaseExpression:
        elements: tuple[cst.BaseDictElement, ...] = tuple(
            _new.StarredDictElement(value=self.expr(value))
            if key is None
            else _new.DictElement(key=self.expr(key), value=self.expr(value))
            for key, value in zip(node.keys, node.values, strict=True)
        )
        return _new.Dict(elements=elements)

    def _comprehension(self, generators: list[ast.comprehension]) -> cst.CompFor:
        inner: cst.CompFor | None = None
        for generator in reversed(generators):
            inner = _new.CompFor(
                target=cast(cst.BaseAssignTargetExpression, self.expr(generator.target)),
                iter=self.expr(generator.iter),
                ifs=tuple(_new.CompIf(test=self.expr(test)) for test in generator.ifs),
                inner_for_in=inner,
                asynchronous=_new.Asynchronous() if generator.is_async else None,
            )
        assert inner is not None
        return inner

    def _list_comp(self, node: ast.ListComp) -> cst.BaseExpression:
        for_in = self._comprehension(node.generators)
        return _new.ListComp(elt=self.expr(node.elt), for_in=for_in)

    def _set_comp(self, node: ast.SetComp) -> cst.BaseExpression:
        for_in = self._comprehension(node.generators)
        return _new.SetComp(elt=self.expr(node.elt), for_in=for_in)

    def _generator(self, node: ast.GeneratorExp) -> cst.BaseExpression:
        for_in = self._comprehension(node.generators)
        built = _new.GeneratorExp(elt=self.expr(node.elt), for_in=for_in)
        last = node.generators[-1]
        self._inside_brackets(built, node, node.elt, last.ifs[-1] if last.ifs else last.iter)
        return built

    def _dict_comp(self, node: ast.DictComp) -> cst.BaseExpression:
        for_in = self._comprehension(node.generators)
        return _new.DictComp(key=self.expr(node.key), value=self.expr(node.value), for_in=for_in)

    def _subscript(self, node: ast.Subscript) -> cst.BaseExpression:
        index = node.slice
        if isinstance(index, ast.Tuple) and index.elts and not self._parenthesized(index):
            elements = tuple(self._subscript_element(e) for e in index.elts)
        else:
            elements = (self._subscript_element(index),)
        return _new.Subscript(value=self.expr(node.value), slice=elements)

    def _subscript_element(self, node: ast.expr) -> cst.SubscriptElement:
        if isinstance(node, ast.Slice):
            two_colons = node.step is not None or _top_level_colons(self._text(node)) > 1
            part: cst.BaseSlice = _new.Slice(
                lower=self.optional(node.lower),
                upper=self.optional(node.upper),
                step=self.optional(node.step),
                second_colon=_new.Colon() if two_colons else cst.MaybeSentinel.DEFAULT,
            )
        elif isinstance(node, ast.Starred):
            part = _new.Index(value=self.expr(node.value), star="*")
        else:
            part = _new.Index(value=self.expr(node))
        return _new.SubscriptElement(slice=part)

    def _parenthesized(self, node: ast.Tuple) -> bool:
        """Whether a tuple's own brackets enclose it (``x[(a, b)]``, not ``x[(a), b]``)."""
        text = self._text(node)
        if not (text.startswith("(") and text.endswith(")")):
            return False
        first_closed = next(
            (at for at, char, depth in _code_marks(text) if char in ")]}" and depth == 1), None
        )
        return first_closed == len(text) - 1


def _from_to(first: Any, last: Any) -> tuple[Any, ...]:
    """The span from one statement's start to another's end, as LibCST has it: a compound
    statement ends with the last small statement of its last block (CPython's range also
    takes a ``;`` after it)."""
    while not isinstance(last, _SMALL):
        blocks = [getattr(last, name, None) for name in ("finalbody", "orelse")]
        handlers = getattr(last, "handlers", None)
        block = next((b for b in blocks if b), None) or (handlers[-1].body if handlers else None)
        last = (block or last.body)[-1]
    return first.lineno, first.col_offset, last.end_lineno, last.end_col_offset


def _dotted(name: str) -> cst.Name | cst.Attribute:
    parts = name.split(".")
    built: cst.Name | cst.Attribute = _new.Name(parts[0])
    for part in parts[1:]:
        built = _new.Attribute(value=built, attr=_new.Name(part))
    return built


_SMALL_BUILDERS: dict[type, Callable[[_Builder, Any], cst.BaseSmallStatement]] = {
    ast.Expr: _Builder._expr_statement,
    ast.Assign: _Builder._assign,
    ast.AugAssign: _Builder._aug_assign,
    ast.AnnAssign: _Builder._ann_assign,
    ast.Return: _Builder._return,
    ast.Raise: _Builder._raise,
    ast.Assert: _Builder._assert,
    ast.Pass: lambda _builder, _node: _new.Pass(),
    ast.Break: lambda _builder, _node: _new.Break(),
    ast.Continue: lambda _builder, _node: _new.Continue(),
    ast.Delete: _Builder._delete,
    ast.Global: _Builder._global,
    ast.Nonlocal: _Builder._nonlocal,
    ast.Import: _Builder._import,
    ast.ImportFrom: _Builder._import_from,
}
_COMPOUND_BUILDERS: dict[type, Callable[[_Builder, Any], cst.BaseCompoundStatement]] = {
    ast.If: _Builder._if,
    ast.For: _Builder._for,
    ast.AsyncFor: _Builder._for,
    ast.While: _Builder._while,
    ast.Try: _Builder._try,
    ast.With: _Builder._with,
    ast.AsyncWith: _Builder._with,
    ast.FunctionDef: _Builder._function,
    ast.AsyncFunctionDef: _Builder._function,
    ast.ClassDef: _Builder._class,
}
if hasattr(ast, "TryStar"):
    _COMPOUND_BUILDERS[ast.TryStar] = _Builder._try
_EXPRESSION_BUILDERS: dict[type, Callable[[_Builder, Any], cst.BaseExpression]] = {
    ast.Name: _Builder._name,
    ast.Attribute: _Builder._attribute,
    ast.Constant: _Builder._constant,
    ast.JoinedStr: _Builder._joined,
    ast.Call: _Builder._call,
    ast.BinOp: _Builder._binary,
    ast.UnaryOp: _Builder._unary,
    ast.BoolOp: _Builder._boolean,
    ast.Compare: _Builder._compare,
    ast.IfExp: _Builder._if_expression,
    ast.Lambda: _Builder._lambda,
    ast.NamedExpr: _Builder._named,
    ast.Await: _Builder._await,
    ast.Yield: _Builder._yield,
    ast.YieldFrom: _Builder._yield_from,
    ast.Tuple: _Builder._tuple,
    ast.List: _Builder._list,
    ast.Set: _Builder._set,
    ast.Dict: _Builder._dict,
    ast.ListComp: _Builder._list_comp,
    ast.SetComp: _Builder._set_comp,
    ast.GeneratorExp: _Builder._generator,
    ast.DictComp: _Builder._dict_comp,
    ast.Subscript: _Builder._subscript,
}


_COMMENT = re.compile(r"#[^\r\n]*")
_DEFINES = re.compile(r"(?:async\s+)?(?:def|class)\s+")


def _skip_layout(text: str, offset: int, limit: int) -> int:
    """The offset of the next code character (past spaces, line breaks, comments)."""
    while offset < limit:
        char = text[offset]
        if char in " \t\f\r\n\\":
            offset += 1
        elif char == "#":
            found = _COMMENT.match(text, offset)
            offset = found.end() if found is not None else offset + 1
        else:
            break
    return offset


def _top_level_colons(text: str) -> int:
    """How many colons of a slice's text are outside its brackets, strings and comments."""
    return sum(1 for _, char, depth in _code_marks(text) if char == ":" and not depth)


_STRING_OR_COMMENT = re.compile(r"#[^\r\n]*|" + _ONE_STRING.pattern, re.DOTALL)


def _code_marks(text: str) -> list[tuple[int, str, int]]:
    """(offset, character, depth) of each bracket and colon of an expression's text that is
    code, not in a string or a comment; depth: the brackets around it (a bracket counts as
    inside the pair it opens or closes)."""
    code = _STRING_OR_COMMENT.sub(lambda found: " " * len(found.group()), text)
    marks: list[tuple[int, str, int]] = []
    depth = 0
    for found in _BRACKETS_OR_COLONS.finditer(code):
        char = found.group()
        depth += char in "([{"
        marks.append((found.start(), char, depth))
        depth -= char in ")]}"
    return marks


_BRACKETS_OR_COLONS = re.compile(r"[()\[\]{}:]")
