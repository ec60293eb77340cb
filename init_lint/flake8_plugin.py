"""flake8 plugin: the ``INI`` codes, from the same engine as the ``init-lint`` command.

One configuration for every front end: the plugin reads ``[tool.init-lint]`` from the nearest
``pyproject.toml`` (found from the paths flake8 was given, as ``init-lint`` finds it) and applies
its select/extend-select/ignore/extend-ignore, per-file-ignores, ``# init-lint: noqa`` file
exemptions and analysis options. flake8's own options win: ``--init-lint-*`` (command line or
flake8 config) replace the analysis options, and flake8's select/extend-select/ignore/
extend-ignore, when they name ``INI`` codes, take the place of the same keys of the table, as
``init-lint``'s command-line flags do. flake8 then does its own selection, ``# noqa``,
``# flake8: noqa`` and per-file-ignores on what the plugin yields.

flake8 hands the plugin one file at a time, but a file is judged as in a run over its whole
package (a block whose layers the model's init loop in another file sets): the first file of a
package that can report anything has the package analysed with it (through the on-disk cache, so
that flake8's processes share the work, and a later run reads it back), and the package's
findings are kept for its other files. Options and settings are read once per run (per flake8
process) into class attributes; nothing is set up again per file.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from flake8.exceptions import ExecutionError  # type: ignore[import-untyped]

from . import __version__
from .config import (
    DISTRIBUTIONS,
    MODES,
    ConfigError,
    Settings,
    apply_overrides,
    discover_settings,
)
from .engine import Options, lint_source, lint_sources, read_source
from .filtering import CodeSelector, PerFileIgnores
from .findings import Finding
from .noqa import file_exemption, is_exempt
from .prefilter import may_build_layer, may_report, names_activation
from .rules import ALL_CODES, PARSE_ERROR_CODE, RULES


def _flag(value: object) -> bool | None:
    """None when not given; flake8 may pass config-file values as strings ("true", "1")."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _choice(value: str | None, choices: Sequence[str], option: str) -> str | None:
    # A bad value from a config file bypasses argparse's ``choices``; flake8 prints an
    # ExecutionError's message (no traceback) and exits 1.
    if value is not None and value not in choices:
        raise ExecutionError(
            f"init-lint: {option} must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


def _ini_codes(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """The entries of a flake8 code list that concern INI codes (``I`` and ``IN`` select them
    all, as ``INI`` does); None when there are none, so that the table's setting stays."""
    codes = []
    for value in values or ():
        code = value.strip().upper()
        if code and any(known.startswith(code) for known in ALL_CODES):
            codes.append(code if len(code) >= 3 else "INI")
    return tuple(codes) or None


def _flake8_selects_any(options: Any, codes: Iterable[str]) -> bool:
    """Whether flake8's own select/ignore decision (its DecisionEngine, so that the two can
    never differ) reports any of ``codes``: ``--select E9`` reports none of ours."""
    try:
        from flake8.style_guide import Decision, DecisionEngine  # type: ignore[import-untyped]

        engine = DecisionEngine(options)
        return any(engine.decision_for(code) is Decision.Selected for code in codes)
    except (ImportError, AttributeError, TypeError, ValueError):  # another flake8: analyse
        return True


def _settings(options: Any) -> Settings:
    """``[tool.init-lint]`` with flake8's options on top."""
    paths = [path if path != "-" else "." for path in (options.filenames or ["."])]
    try:
        base = discover_settings(paths, None)
    except ConfigError as error:
        raise ExecutionError(f"init-lint: {error}") from None
    return apply_overrides(
        base,
        select=_ini_codes(options.select),
        extend_select=_ini_codes(options.extend_select),
        ignore=_ini_codes(options.ignore),
        extend_ignore=_ini_codes(options.extend_ignore),
        through_norm=_flag(options.init_lint_through_norm),
        mode=_choice(options.init_lint_mode, MODES, "--init-lint-mode"),
        distribution=_choice(
            options.init_lint_distribution, DISTRIBUTIONS, "--init-lint-distribution"
        ),
        zero_bias=_flag(options.init_lint_zero_bias),
    )


class InitLintChecker:
    name = "init-lint"
    version = __version__
    options = Options()
    selector = CodeSelector(Settings())
    #: Whether flake8's selection leaves any INI code to report (``--select E9`` leaves none).
    active = True
    per_file_ignores = PerFileIgnores(Settings())
    settings = Settings()
    #: Each program (top package, or script directory) analysed in this process: its files'
    #: bytes as analysed and their findings, by real path.
    programs: dict[str, tuple[dict[str, bytes], dict[str, list[Finding]]] | None] = {}

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        # ``tree`` is requested because flake8 classifies plugins by their parameters (a tree
        # plugin runs once per file); the engine parses ``lines`` with LibCST instead.
        self._lines = lines
        self._filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        # Defaults are None ("not given"), so that [tool.init-lint] decides unless flake8's
        # command line or config file says otherwise.
        manager.add_option(
            "--init-lint-through-norm",
            action="store_true",
            default=None,
            parse_from_config=True,
            help="init-lint: also report layers that reach a rectifier through a norm layer "
            "(default: through-norm in [tool.init-lint], else off)",
        )
        manager.add_option(
            "--init-lint-mode",
            default=None,
            choices=MODES,
            parse_from_config=True,
            help="init-lint: fan mode of the suggested Kaiming init (fan_in or fan_out; "
            "default: mode in [tool.init-lint], else fan_in)",
        )
        manager.add_option(
            "--init-lint-distribution",
            default=None,
            choices=DISTRIBUTIONS,
            parse_from_config=True,
            help="init-lint: distribution of the suggested init (normal or uniform; "
            "default: distribution in [tool.init-lint], else normal)",
        )
        manager.add_option(
            "--init-lint-zero-bias",
            action="store_true",
            default=None,
            parse_from_config=True,
            help="init-lint: suggest zeroing the bias too "
            "(default: zero-bias in [tool.init-lint], else off)",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        settings = _settings(options)
        cls.options = settings.options()
        cls.settings = settings
        cls.programs = {}
        cls.selector = CodeSelector(settings)
        cls.active = _flake8_selects_any(options, RULES)
        cls.per_file_ignores = PerFileIgnores(settings)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        # flake8 runs every installed plugin on every file, whatever --select says: with no INI
        # code selected there is nothing to analyse; and most files name no layer and no init
        # function, and leave here before any parsing.
        if not self.active:
            return
        source = "".join(self._lines)
        alone = may_report(source)
        if not (alone or may_build_layer(source) or names_activation(source)):
            return
        ignored = self.per_file_ignores.ignored_codes(self._filename)
        exemption: frozenset[str] | None = None
        for finding in self._findings(source, alone):
            if finding.code == PARSE_ERROR_CODE:
                continue  # flake8 already reports E999 for a file that does not parse
            if not self.selector.enabled(finding.code) or finding.code.startswith(ignored):
                continue
            if exemption is None:  # (flake8 itself skips the files that its own comment exempts)
                exemption = file_exemption(self._lines, flake8=False)
            if is_exempt(finding.code, exemption):
                continue
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)

    def _findings(self, source: str, alone: bool) -> list[Finding]:
        """This file's findings, judged with the rest of its package. ``alone``: the file may
        report on its own; else only its package can give it a finding (it builds layers but
        names no activation: a factory or a container in another file hands it one; or it
        names an activation and builds its layers with another file's function)."""
        from .files import context_files, program_root

        path = self._filename
        if not os.path.isfile(path):
            return lint_source(source, path, self.options) if alone else []
        root = program_root(path)[0]
        if root not in self.programs:  # the package is found and analysed once per process
            context = context_files([path], [], self.settings)
            self.programs[root] = self._analyse_program([path, *context]) if context else None
        program = self.programs[root]
        if program is None:  # a file with no package around it
            return lint_source(source, path, self.options) if alone else []
        sources, findings = program
        mine = os.path.realpath(path)
        if mine in sources and _same_text(sources[mine], source):
            return findings.get(mine, [])
        # Not the file on disk (an editor's buffer through --stdin-display-name): this text.
        edited: list[tuple[str, str | bytes]] = [(path, source)]
        edited += [(other, data) for other, data in sources.items() if other != mine]
        judged = lint_sources(edited, self.options, cache_dir=self._cache_dir())
        return [f for f in judged if f.path == path]

    def _cache_dir(self) -> Path | None:
        """The project's analysis cache (the one ``init-lint`` uses): an editor's buffer is
        judged with the package's other files read back from it, not analysed again."""
        from .cache import default_directory

        return default_directory(self.settings.root)

    def _analyse_program(
        self, paths: list[str]
    ) -> tuple[dict[str, bytes], dict[str, list[Finding]]]:
        sources: dict[str, bytes] = {}
        for path in paths:
            data = read_source(path)
            if isinstance(data, bytes):
                sources[os.path.realpath(path)] = data
        findings: dict[str, list[Finding]] = {}
        # Shuffled by the file that asked: flake8's processes, each asking for the same
        # package from a different file, take its files in different orders and meet in the
        # cache rather than analysing each file twice.
        for finding in lint_sources(
            sources.items(), self.options, cache_dir=self._cache_dir(), order_seed=self._filename
        ):
            findings.setdefault(finding.path, []).append(finding)
        return sources, findings


def _same_text(data: bytes, text: str) -> bool:
    """Whether flake8's text of a file is the text of these bytes (up to line endings)."""
    from .source import source_lines

    ours = [line.rstrip("\r\n") for line in source_lines(data)]
    return ours == [line.rstrip("\r\n") for line in text.splitlines(keepends=True)]
