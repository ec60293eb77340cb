"""flake8 plugin: the ``INI`` codes, from the same engine as the ``init-lint`` command.

flake8 does its own selection, ``# noqa`` and per-file-ignores; the plugin only yields findings.
It lints one file at a time (flake8's model), so a class initialised by a class in another file
is only followed by the ``init-lint`` command. Options are parsed once per run into
:attr:`InitLintChecker.options`; nothing is set up again per file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import Any

from flake8.exceptions import ExecutionError

from . import __version__
from .config import DISTRIBUTIONS, MODES
from .engine import Options, lint_source
from .prefilter import may_report
from .rules import PARSE_ERROR_CODE


def _flag(value: object) -> bool:
    """flake8 passes config-file values through as strings ("true", "1", "yes")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _choice(value: str, choices: Sequence[str], option: str) -> str:
    # A bad value from a config file bypasses argparse's ``choices``; flake8 prints an
    # ExecutionError's message (no traceback) and exits 1.
    if value not in choices:
        raise ExecutionError(
            f"init-lint: {option} must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


class InitLintChecker:
    name = "init-lint"
    version = __version__
    options = Options()

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        # ``tree`` is requested because flake8 classifies plugins by their parameters (a tree
        # plugin runs once per file); the engine parses ``lines`` with LibCST instead.
        self._lines = lines
        self._filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--init-lint-through-norm",
            action="store_true",
            parse_from_config=True,
            help="init-lint: also report layers that reach a rectifier through a norm layer",
        )
        manager.add_option(
            "--init-lint-mode",
            default="fan_in",
            choices=MODES,
            parse_from_config=True,
            help="init-lint: fan mode of the suggested Kaiming init (fan_in or fan_out)",
        )
        manager.add_option(
            "--init-lint-distribution",
            default="normal",
            choices=DISTRIBUTIONS,
            parse_from_config=True,
            help="init-lint: distribution of the suggested init (normal or uniform)",
        )
        manager.add_option(
            "--init-lint-zero-bias",
            action="store_true",
            parse_from_config=True,
            help="init-lint: suggest zeroing the bias too",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls.options = Options(
            through_norm=_flag(options.init_lint_through_norm),
            mode=_choice(options.init_lint_mode, MODES, "--init-lint-mode"),
            distribution=_choice(
                options.init_lint_distribution, DISTRIBUTIONS, "--init-lint-distribution"
            ),
            zero_bias=_flag(options.init_lint_zero_bias),
        )

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        source = "".join(self._lines)
        # flake8 runs every installed plugin on every file, whatever --select says: most files
        # name no layer and no init function, and leave here before any parsing.
        if not may_report(source):
            return
        for finding in lint_source(source, self._filename, self.options):
            if finding.code == PARSE_ERROR_CODE:
                continue  # flake8 already reports E999 for a file that does not parse
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
