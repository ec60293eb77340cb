"""The tree built from CPython's AST must be LibCST's parse, up to layout, with LibCST's ranges.

The analysis reads that tree instead of LibCST's parse (init_lint.analysis.fromast); any node
or range that differs could change a finding or move a fix, so every node is compared: its
type, every field that is not layout, and its range against LibCST's PositionProvider.
"""

from __future__ import annotations

import ast
import dataclasses
import warnings
from pathlib import Path

import hypothesis
import hypothesmith
import libcst as cst
import pytest
from corpus_helpers import corpus_files
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from init_lint.analysis.common import _LAYOUT_FIELDS
from init_lint.analysis.fromast import _normalized_names, module_from_ast
from init_lint.engine import lint_sources

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "tests" / "fixtures").glob("*.py")) + sorted(
    (ROOT / "examples").glob("*.py")
)
SOURCES += sorted((ROOT / "init_lint" / "analysis").glob("*.py"))  # plenty of compound statements


def _code_fields(node: cst.CSTNode) -> list[str]:
    # ``indent`` (a block's own indentation) and whitespace are layout, as in _LAYOUT_FIELDS.
    return [
        f.name
        for f in dataclasses.fields(node)
        if f.name not in _LAYOUT_FIELDS and f.name != "indent" and "whitespace" not in f.name
    ]


def _pairs(
    built: object, parsed: object, path: str, found: list[tuple[cst.CSTNode, cst.CSTNode]]
) -> None:
    assert type(built) is type(parsed), (
        f"{path}: {type(built).__name__} is not {type(parsed).__name__}"
    )
    if isinstance(built, cst.CSTNode):
        assert isinstance(parsed, cst.CSTNode)
        found.append((built, parsed))
        for name in _code_fields(built):
            _pairs(getattr(built, name), getattr(parsed, name), f"{path}.{name}", found)
    elif isinstance(built, (list, tuple)):
        assert isinstance(parsed, (list, tuple)) and len(built) == len(parsed), path
        for index, (one, other) in enumerate(zip(built, parsed, strict=True)):
            _pairs(one, other, f"{path}[{index}]", found)
    else:
        assert built == parsed, f"{path}: {built!r} != {parsed!r}"


def assert_same_as_libcst(text: str) -> int:
    """Compare the built tree with LibCST's parse of ``text``; the number of ranges compared.
    A file where a word is written otherwise than in NFKC (in a comment, say ``mean²`` while
    ``mean2`` is a name) is left to LibCST: 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # generated programs: `1(2)` and the like
        tree = ast.parse(text)
    result = module_from_ast(tree, text)
    if result is None and _normalized_names(text):
        return 0
    assert result is not None
    module, spans = result
    parsed = cst.parse_module(text)
    for name in ("default_indent", "default_newline", "has_trailing_newline"):
        assert getattr(module, name) == getattr(parsed, name), name
    pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []
    _pairs(module, parsed, "module", pairs)
    ranges = MetadataWrapper(parsed, unsafe_skip_copy=True).resolve(PositionProvider)
    compared = 0
    for built, reference in pairs:
        where = spans.get(id(built))
        if where is not None:
            assert where == ranges[reference], (type(built).__name__, where, ranges[reference])
            compared += 1
    return compared


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_projects_own_files_build_as_libcst_parses_them(path: Path) -> None:
    assert_same_as_libcst(path.read_text("utf-8"))


def test_words_in_other_forms_leave_few_files_to_libcst() -> None:
    texts = [path.read_text("utf-8") for path in SOURCES]
    left = [text for text in texts if module_from_ast(ast.parse(text), text) is None]
    assert len(left) <= len(SOURCES) // 20


CASES = {
    "line breaks": "import torch\r\nclass A:\r    def f(self):\n        return g(\r\n  1)\r\n\r\nx = A()",
    "no final line break": "x = 1\ny = f(x)",
    "a backslash at the end of a final comment": "x = 1  # \\\n",
    "a semicolon ending a suite": "class A: assert x;\nif a:\n    if b: c = 1;\nelse: d = 2;\n",
    "tabs": "if x:\n\ty = 1\n\tif y:\n\t\tz = 2\n",
    "first indented block": "try:\n  pass\nfinally:\n pass\n",
    "a semicolon after a continued line": "a = 1 \\\n; b = 2\nc = 3\n",
    "continued headers": "try:\n pass\nfinally:\\\r\n pass\nif x:\\\n    y = 1\n",
    "wide characters": "s = 'é' ; t = f(s, 'ü', x.é)\nclass Ä:\n    def ö(self): return 'ß'\n",
    "semicolons and one-line suites": "a = 1; b = 2\nif a: b = 3; c = 4\nelse: pass\nwhile 0: break\n",
    "elif and else-if": "if a:\n    pass\nelif b:\n    pass\nelse:\n    if c:\n        pass\n",
    "loops with else": "for i in x:\n    pass\nelse:\n    y = 1\nwhile z:\n    pass\nelse:\n    w = 2\n",
    "brackets": (
        "t = (a, b)\nu = ((a), (b),)\nv = a, (b)\nw = ()\nf((a + b), (c), *d, e=(1), **g)\n"
        "h(x for x in y)\nh((x for x in y), 1)\nk = [(i) for i in (j)]\nz = x[(a, b)]\n"
        "z = x[a, b]\nz = x[(a), b]\nz = x[::2]\nz = x[1::]\nz = x[:, 0]\nq = (a or (b) or c)\n"
        "r = (\n    a,  # a comment\n    b,\n)\n"
    ),
    "strings": (
        's = "a" "b"\nt = ("x"\n     \'y\')\nu = f"{a!r:>{w}} {b=}"\nv = b"\\x00" rb"\\d"\n'
        "w = '''multi\nline'''\nx = \"it's\" + 'say \"hi\"'\n"
    ),
    "numbers": "a = 0x1F + 1_000 + 1e-5 + .5 + 3j + -2\n",
    "definitions": (
        "@decorator(1)\n@other\nasync def f(a, /, b=1, *args, c, d=2, **kw) -> int:\n"
        "    async with x as (y, z), w:\n        await q\n    async for i in j:\n        yield i\n"
        "    yield from k\n    return (lambda p, *, q=1: p)(a)\n"
        "class C(Base, metaclass=M, **extra):\n    x: int = 1\n    y: 'str'\n"
        "def g(*, a): pass\n"
    ),
    "statements": (
        "import a.b.c as d, e\nfrom . import f\nfrom ..g.h import (i as j, k)\nfrom m import *\n"
        "global n\ndel a, b[0]\nassert x, 'message'\nraise E from F\nx += 1\nx //= 2\n"
        "try:\n    pass\nexcept (A, B) as e:\n    pass\nexcept C:\n    pass\nelse:\n    pass\n"
        "finally:\n    pass\ntry:\n    pass\nexcept* ValueError:\n    pass\n"
        "with a, b as c:\n    pass\nif (n := 10) > 5: pass\n"
        "x = {1: 2, **y}\ns = {1, *z}\nd = {k: v for k, v in w if k if v}\n"
        "g = [a for b in c for a in b]\nnot a is not b in c\n"
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_syntax_builds_as_libcst_parses_it(name: str) -> None:
    assert assert_same_as_libcst(CASES[name]) > 0


def test_syntax_it_does_not_build_is_left_to_libcst() -> None:
    match = "match x:\n    case 1:\n        pass\n"
    assert module_from_ast(ast.parse(match), match) is None
    # CPython's AST spells identifiers in NFKC (``Aa``), LibCST as written.
    for normalized in ("class A\u00aa: pass\n", "global A\U0001d400\U000e0100\n"):
        assert module_from_ast(ast.parse(normalized), normalized) is None
    # a backslash before a lone CR: LibCST numbers the lines after it otherwise than CPython
    continued = "try: pass\nexcept []\\\r:\n pass\n"
    assert module_from_ast(ast.parse(continued), continued) is None
    # a word in another form in a comment or a string is no name
    for kept in ("x = 1  # 2\u00b2\n", "s = 'A\u00aa'\n"):
        assert module_from_ast(ast.parse(kept), kept) is not None
    # The file is still analysed (parsed by LibCST): its layer feeds a ReLU without He init.
    model = (
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, mode):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n"
        "        match mode:\n"
        "            case _:\n"
        "                pass\n"
        "    def forward(self, x):\n"
        "        return nn.functional.relu(self.fc(x))\n"
    )
    findings = lint_sources([("net.py", model)])
    assert [(f.code, f.line) for f in findings] == [("INI001", 5)]


@pytest.mark.slow
@hypothesis.settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
@hypothesis.given(st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_generated_programs_build_as_libcst_parses_them(program: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(program)
        cst.parse_module(program)
    except (SyntaxError, ValueError, cst.ParserSyntaxError, RecursionError, MemoryError):
        hypothesis.reject()
    if module_from_ast(tree, program) is None:
        return  # syntax left to LibCST (see above)
    assert_same_as_libcst(program)


@pytest.mark.slow
def test_real_model_files_build_as_libcst_parses_them(corpus: Path) -> None:
    for name in ("torchvision", "timm"):
        for path in corpus_files(corpus, name):
            assert assert_same_as_libcst(path.read_text("utf-8")) > 0, path
