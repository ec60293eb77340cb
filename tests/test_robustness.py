"""Ordinary and extreme code never crashes a run (issue 13, items 1, 2 and 5).

Everything goes through the public API (:func:`init_lint.engine.lint_source`) or the real
command, so that these keep holding whatever the analysis looks like inside.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import run, text_findings, write

from init_lint.engine import (
    CPYTHON,
    Options,
    analyze_source,
    is_internal_error,
    lint_paths,
    lint_source,
)
from init_lint.fixer import fix_source
from init_lint.rules import RULES

HEAD = "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
HEAD += "        super().__init__()\n        self.fc = nn.Linear(8, 8)\n"
FORWARD = "\n    def forward(self, x):\n        return self.fc(x).relu()\n"


def _model(body: str) -> str:
    """A Linear feeding ReLU with PyTorch's default init (INI001 at line 7) around ``body``."""
    return HEAD + textwrap.indent(body, " " * 8) + FORWARD


def _codes(source: str | bytes) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint_source(source, "m.py")]


# ------------------------------------------------------------------------ item 2: no traceback
HELPER = """\
import torch
import torch.nn as nn


def init_weights(module, nonlinearity="relu"):
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity=nonlinearity)


class Net(nn.Module):
    def __init__(self, flag=True):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 8)
        init_weights(self, nonlinearity="tanh")
        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity='tanh' if flag else 'relu')

    def forward(self, x):
        return torch.tanh(self.fc2(torch.tanh(self.fc(x))))
"""


def test_a_nonlinearity_that_is_a_parameter_or_a_conditional_is_an_unknown_init() -> None:
    """Both crashed the message builder (None.__format__); neither is a known rectifier gain,
    so neither is an INI002."""
    assert _codes(HELPER) == []


def test_an_unknown_leaky_slope_before_tanh_is_reported_without_a_number() -> None:
    source = HELPER.replace("nonlinearity=nonlinearity)", "a=slope, nonlinearity='leaky_relu')")
    source = source.replace('nonlinearity="relu"', "slope=0.1")
    source = source.replace('init_weights(self, nonlinearity="tanh")', "init_weights(self, cfg.a)")
    findings = lint_source(source, "m.py")
    [fc] = [f for f in findings if f.line == 14]
    assert fc.code == "INI002" and "a rectifier gain (unknown) where Tanh wants Xavier" in fc.message


def test_a_constant_power_with_a_complex_result_is_not_folded() -> None:
    """``(-4) ** 0.5`` is complex: folding it crashed the analysis (float() of a complex, in
    gymnasium's rendering wrapper). It is no size; the layer is judged all the same."""
    source = """\
import torch.nn as nn

N = -4


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(int(N**0.5), 8)

    def forward(self, x):
        return self.fc(x).relu()
"""
    assert [(f.line, f.code) for f in lint_source(source, "m.py")] == [(9, "INI001")]


@pytest.mark.slow
def test_a_500_deep_chain_of_classes_containing_classes() -> None:
    classes = [
        f"class C{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        f"        self.fc = nn.Linear(8, 8)\n        self.inner = C{i + 1}()\n\n"
        f"    def forward(self, x):\n        return self.inner(self.fc(x).relu())\n\n\n"
        for i in range(500)
    ]
    source = "import torch.nn as nn\n\n\n" + "".join(classes) + "class C500(nn.Module):\n    pass\n"
    codes = _codes(source)
    assert len(codes) == 500 and {code for _, code in codes} == {"INI001"}


@pytest.mark.parametrize(
    "body",
    [
        "y = " + " + ".join(["x"] * 600) + "\n",
        "if k == 0:\n    pass\n" + "".join(f"elif k == {i}:\n    pass\n" for i in range(1, 1000)),
        "y = " + " * ".join(["2"] * 900) + "\n",  # folded as a number: no quadratic walk
    ],
    ids=["600-term-sum", "1000-branch-elif", "900-factor-product"],
)
def test_deep_code_that_cpython_compiles_is_analysed(body: str) -> None:
    started = time.perf_counter()
    assert _codes(_model(body)) == [(7, "INI001")]
    assert time.perf_counter() - started < 20


def test_an_exception_in_one_files_analysis_is_an_ini999_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from init_lint import analysis

    real = analysis.analyze_module

    def broken(module: object, path: str, *rest: object) -> object:
        if path.endswith("bad.py"):
            raise TypeError("unsupported format string passed to NoneType.__format__")
        return real(module, path, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "analyze_module", broken)
    bad = write(tmp_path, "bad.py", _model(""))
    good = write(tmp_path, "good.py", _model(""))
    findings = lint_paths([bad, good])
    assert [(Path(f.path).name, f.code) for f in findings] == [
        ("bad.py", "INI999"),
        ("good.py", "INI001"),
    ]
    assert is_internal_error(findings[0])
    assert (
        "TypeError: unsupported format string passed to NoneType.__format__" in findings[0].message
    )


@pytest.mark.slow
def test_cli_exits_3_when_the_tool_broke_on_a_file(tmp_path: Path) -> None:
    """CI must tell "found problems" (1) from "the tool broke" (3)."""
    write(tmp_path, "bad.py", _model(""))
    script = (
        "import sys, init_lint.analysis as analysis\n"
        "def broken(*args, **kwargs):\n"
        "    raise ValueError('boom')\n"
        "analysis.analyze_module = broken\n"
        "from init_lint.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", script, "--no-cache", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert "bad.py:1:1: INI999 internal error (ValueError: boom)" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_containment_made_again_and_again_is_one_edge() -> None:
    """A loop (or a call reached along many paths) makes the same edge again: each node lists
    a container's contents once, so that facts stay small (a torch file once had 2,048 copies
    of each edge on 4,000 nodes: 470 MB of cache entry)."""
    from init_lint.analysis.facts import FileFacts

    source = _model("") + (
        "\n\ndef build():\n    holder = Holder()\n    for i in range(3):\n"
        "        holder.add(Net())\n    return holder\n"
    )
    facts = analyze_source("m.py", source, Options())
    assert isinstance(facts, FileFacts)
    for node in facts.nodes:
        assert len(node.contains) == len(set(node.contains)), node


# ---------------------------------------------------------------- item 1: the native parser
@pytest.mark.slow
def test_deeply_nested_brackets_are_cpythons_syntax_error_not_a_segfault(tmp_path: Path) -> None:
    """Issue 13's crash: a few thousand nested brackets killed the process in LibCST's parser
    (SIGSEGV, exit 139) and every other file's findings were lost."""
    write(tmp_path, "deep.py", "import torch.nn as nn\nE = " + "[" * 3000 + "]" * 3000 + "\n")
    write(tmp_path, "model.py", RULES["INI005"].invalid[0].source)
    for jobs in ("1", "2"):
        result = run("init-lint", "--no-cache", "--jobs", jobs, ".", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        found = {(f[0], f[3], f[4]) for f in text_findings(result.stdout)}
        assert (
            "deep.py",
            "INI999",
            f"syntax error: too many nested parentheses ({CPYTHON})",
        ) in found
        assert any(path == "model.py" and code == "INI005" for path, code, _ in found)


@pytest.mark.parametrize(
    "expression,message",
    [
        ("-" * 100_000 + "x", f"{CPYTHON} cannot compile this file: too deeply nested"),
        (" + ".join(["x"] * 12_000), f"{CPYTHON} cannot compile this file: too deeply nested"),
        ("x" + "[0]" * 2500, "not analysed: an expression nested more than 1000 levels deep"),
        ("lambda: " * 2500 + "x", "not analysed: an expression nested more than 1000 levels"),
    ],
    ids=["100000-unary", "12000-term-sum", "2500-subscripts", "2500-lambdas"],
)
def test_expressions_too_deep_for_the_parsers_are_reported_quickly(
    expression: str, message: str
) -> None:
    started = time.perf_counter()
    [finding] = lint_source(_model(f"y = {expression}\n"), "m.py")
    assert finding.code == "INI999" and finding.message.startswith(message), finding.message
    assert time.perf_counter() - started < 10


# --------------------------------------------------------------- item 5: CPython is the referee
def test_invalid_utf8_in_a_comment_is_accepted_as_by_cpythons_import_and_kept_by_fix() -> None:
    source = (
        _model("")
        .encode()
        .replace(b"import torch.nn as nn\n", b"import torch.nn as nn  # caf\xe9\n")
    )
    compile(source, "m.py", "exec")  # what `import` does with the bytes
    findings = lint_source(source, "m.py")
    assert [(f.line, f.code) for f in findings] == [(7, "INI001")]
    result = fix_source("m.py", source, findings)
    assert result.error is None and b"# caf\xe9\n" in result.fixed
    assert result.fixed.replace(result.fixed.splitlines(keepends=True)[7], b"") == source


@pytest.mark.parametrize(
    "source,message",
    [
        (
            b"import torch.nn as nn  # a\x00b\n",
            "syntax error: source code string cannot contain null bytes",
        ),
        (b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n", "cannot decode file: encoding problem"),
        (b"x = 1\n# \xff\xfe\ny = '\xe9'\n", "cannot decode file: (unicode error) 'utf-8' codec"),
        ("x = 1\n".encode("utf-16"), "cannot decode file (not valid utf-8: byte 0xff on line 1)"),
    ],
    ids=["nul-in-comment", "bom-and-latin-1-cookie", "invalid-utf8-in-a-string", "utf-16"],
)
def test_what_cpython_rejects_is_an_ini999_with_its_reason(source: bytes, message: str) -> None:
    with pytest.raises(SyntaxError):
        compile(source, "m.py", "exec")
    [finding] = lint_source(source, "m.py")
    assert finding.code == "INI999" and finding.message.startswith(message), finding.message


def test_tabs_and_spaces_that_cpython_accepts_are_not_a_syntax_error() -> None:
    """LibCST's tokenizer refuses some mixes CPython accepts (CPython's check: the blocks are the
    same with a tab as 1 or as 8 columns)."""
    source = _model("") + "\n\nif True:\n  if True:\n\t\t\t  pass\nx = 1\n"
    compile(source, "m.py", "exec")
    findings = lint_source(source, "m.py")
    assert [(f.line, f.code) for f in findings] == [(7, "INI001")]
    result = fix_source("m.py", source.encode(), findings)
    assert result.error is None and b"\n\t\t\t  pass\n" in result.fixed
    compile(result.fixed, "m.py", "exec")


def test_syntax_warnings_of_the_linted_code_are_not_printed(tmp_path: Path) -> None:
    write(tmp_path, "warn.py", _model('pattern = "\\d+"\nassert (x, "never false")\n'))
    result = run("init-lint", "--no-cache", "warn.py", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == ""
