"""``init-lint``: the command-line front end.

Exit codes: 0 nothing reported, 1 findings reported, 2 usage, configuration or I/O error (a
missing path is reported on stderr while the other paths are still linted), 3 init-lint itself
failed (on a file, reported as an "internal error" INI999, or as a whole), 130 interrupted.
``init-lint verify ...`` hands over to the runtime verifier, imported only then so that linting
never imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TextIO

from . import __version__, console
from .config import (
    DISTRIBUTIONS,
    MODES,
    ConfigError,
    Settings,
    apply_overrides,
    check_codes,
    discover_settings,
)
from .docs import explain, rule_record, rules_table
from .engine import is_internal_error, lint_sources, read_source
from .filtering import filter_findings
from .findings import Finding
from .notebooks import Notebook, NotebookError, is_notebook
from .notebooks import load as load_notebook
from .output import (
    MACHINE_FORMATS,
    RENDERERS,
    Context,
    Style,
    render_statistics,
    render_summary,
    render_text,
)
from .rules import ALL_CODES, PARSE_ERROR_CODE, rule_for
from .source import source_lines

if TYPE_CHECKING:
    from .fixer import FixRun

STDIN = "-"
STDIN_DISPLAY_NAME = "<stdin>"

EPILOG = """\
exit codes: 0 clean, 1 findings, 2 usage or I/O error, 3 internal error, 130 interrupted.
init-lint verify --help   runtime verifier: measures activation statistics of a built model
init-lint rules           every rule: code, name, severity, autofix, title
init-lint server          language server for editors (stdio; needs init-lint[lsp])
init-lint --explain INI001   what a rule checks, why, and how to fix it
"""


class _Parser(argparse.ArgumentParser):
    """No prefix matching (``--fi`` is not ``--fix``), options anywhere between the paths, and
    the closest option suggested for an unknown one, as ruff does."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(allow_abbrev=False, **kwargs)  # type: ignore[arg-type]

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, unknown = self.parse_known_intermixed_args(args, namespace)
        if unknown:
            message = f"unrecognized arguments: {' '.join(unknown)}"
            options = [arg for arg in unknown if arg.startswith("-") and arg != "-"]
            similar = self.similar_option(options[0]) if options else None
            if similar is not None:
                message += f"\n\n  tip: a similar argument exists: '{similar}'"
            self.error(message)
        return parsed

    def similar_option(self, unknown: str) -> str | None:
        """The option a typo most likely meant: one it is the start of, else the closest."""
        name = unknown.split("=", 1)[0]
        options = [o for action in self._actions for o in action.option_strings if o[:2] == "--"]
        started = [option for option in options if option.startswith(name)]
        matches = difflib.get_close_matches(
            name, started or options, n=1, cutoff=0 if started else 0.6
        )
        return matches[0] if matches else None


def _codes(value: str) -> tuple[str, ...]:
    try:
        return check_codes(value.split(","), "rule code list")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"expected a number of processes, got {value!r}")
    return jobs


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(pattern.strip() for pattern in value.split(",") if pattern.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="init-lint",
        usage="%(prog)s [OPTIONS] [PATH ...]",
        description="Check that PyTorch Linear/Conv layers are initialised for the activation "
        "that follows them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (default: .); '-' reads standard input",
    )
    parser.add_argument("--version", action="version", version=f"init-lint {__version__}")
    parser.add_argument(
        "--explain",
        metavar="CODE",
        nargs="?",
        const="",
        help="print a rule's documentation and exit (every rule's without CODE; JSON with "
        "--format json)",
    )

    selection = parser.add_argument_group("rule selection (comma-separated codes or prefixes)")
    selection.add_argument(
        "--select", type=_codes, metavar="CODES", help="report only these (replaces the config)"
    )
    selection.add_argument("--extend-select", type=_codes, metavar="CODES", help="report these too")
    selection.add_argument(
        "--ignore", type=_codes, metavar="CODES", help="do not report these (replaces the config)"
    )
    selection.add_argument(
        "--extend-ignore", type=_codes, metavar="CODES", help="do not report these either"
    )

    files = parser.add_argument_group("file selection (gitignore-style patterns, comma-separated)")
    files.add_argument(
        "--exclude", type=_patterns, metavar="PATTERNS", help="replace the default excludes"
    )
    files.add_argument(
        "--extend-exclude", type=_patterns, metavar="PATTERNS", help="exclude these too"
    )
    files.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the excludes to files named on the command line too (for pre-commit)",
    )
    files.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="the name to report for '-' (also used for per-file-ignores)",
    )
    files.add_argument(
        "--config",
        metavar="PATH",
        help="read settings from this TOML file "
        "instead of the nearest pyproject.toml with [tool.init-lint]",
    )

    analysis = parser.add_argument_group("analysis")
    analysis.add_argument(
        "--through-norm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also report layers that reach the rectifier through a norm layer",
    )
    analysis.add_argument(
        "--mode", choices=MODES, default=None, help="fan mode of the suggested Kaiming init"
    )
    analysis.add_argument(
        "--distribution",
        choices=DISTRIBUTIONS,
        default=None,
        help="normal_ or uniform_ in the suggested init",
    )
    analysis.add_argument(
        "--zero-bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="suggest zeroing the bias too",
    )

    speed = parser.add_argument_group("performance")
    speed.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=0,
        metavar="N",
        help="analyse files in N processes (default: one per CPU; 1: no worker processes)",
    )
    speed.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the analysis cache"
    )
    speed.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where to cache per-file analysis (default: a folder per project in the user's "
        "cache directory)",
    )

    fixing = parser.add_argument_group("autofix")
    fixing.add_argument(
        "--fix",
        action="store_true",
        help="insert or correct kaiming/xavier init calls in place, then report what is left",
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the changes --fix would make as a unified diff; write nothing "
        "(exit 1 if there are any)",
    )
    fixing.add_argument(
        "--show-fixes",
        action="store_true",
        help="with --fix, list what was fixed per file and code; else print each autofix under "
        "its finding",
    )
    fixing.add_argument(
        "--add-noqa",
        action="store_true",
        help="append '# noqa: CODE' to every reported line (merging with a noqa comment there), "
        "to adopt init-lint on existing code",
    )

    report = parser.add_argument_group("output")
    report.add_argument(
        "--format",
        "--output-format",  # ruff's name for it
        choices=sorted(RENDERERS),
        default="text",
        help="output format (default: text)",
    )
    report.add_argument(
        "--output-file", "-o", metavar="PATH", help="write the report to PATH, not to stdout"
    )
    report.add_argument(
        "--show-settings",
        action="store_true",
        help="print the resolved settings and the config file they came from, then exit",
    )
    report.add_argument(
        "--show-files", action="store_true", help="print the files that would be linted, then exit"
    )
    report.add_argument(
        "--show-source",
        action="store_true",
        help="text format: print each finding's source line with a caret under the column",
    )
    report.add_argument("--statistics", action="store_true", help="print a count per code")
    report.add_argument("--quiet", "-q", action="store_true", help="print findings only")
    report.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    report.add_argument(
        "--no-color",
        action="store_true",
        help="no colour (it is on only on a terminal and when NO_COLOR is unset)",
    )
    return parser


def _run_verify(argv: list[str]) -> int:
    try:
        from .runtime.cli import main as verify_main
    except ModuleNotFoundError as error:
        if error.name == "torch":
            print(
                "init-lint: error: the runtime verifier needs torch: "
                "pip install 'init-lint[runtime]'",
                file=sys.stderr,
            )
            return 2
        if error.name in ("init_lint.runtime", "init_lint.runtime.cli"):
            print(
                "init-lint: error: the runtime verifier is not part of this installation",
                file=sys.stderr,
            )
            return 2
        raise
    return int(verify_main(argv) or 0)


def _run_server(argv: list[str]) -> int:
    try:
        from .server import main as server_main
    except ModuleNotFoundError as error:
        if error.name in ("pygls", "lsprotocol"):
            print(
                "init-lint: error: the language server needs pygls: pip install 'init-lint[lsp]'",
                file=sys.stderr,
            )
            return 2
        raise
    return server_main(argv)


def _run_rules(argv: list[str]) -> int:
    parser = _Parser(prog="init-lint rules", description="List every rule.")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.format == "json":
        print(json.dumps([rule_record(code) for code in ALL_CODES], indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(rules_table())
    return 0


def _explain(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """--explain CODE: the rule's page; --explain alone: every page (JSON with --format json)."""
    codes = [args.explain.upper()] if args.explain else list(ALL_CODES)
    if codes[0] not in ALL_CODES:
        parser.print_usage(sys.stderr)
        print(f"init-lint: error: unknown rule code {args.explain!r}", file=sys.stderr)
        return 2
    if args.format == "json":
        records = [rule_record(code) for code in codes]
        print(json.dumps(records if not args.explain else records[0], indent=2, ensure_ascii=False))
    else:
        sys.stdout.write("\n".join(explain(code) for code in codes))
    return 0


def _use_color(args: argparse.Namespace) -> bool:
    return (
        not args.no_color
        and not args.output_file
        and not os.environ.get("NO_COLOR")
        and sys.stdout.isatty()
    )


@dataclass
class LintRun:
    """What a run found, kept together for the renderers (and for --fix, which edits sources).

    A notebook's entry in ``sources`` is its virtual source (see :mod:`init_lint.notebooks`):
    findings stay in its lines until :meth:`located` turns them into cells and lines."""

    settings: Settings
    sources: dict[str, bytes]  # path as reported → bytes, for every file that could be read
    files_checked: int
    reported: list[Finding] = field(default_factory=list)  # after filtering (and noqa)
    unreadable: list[Finding] = field(default_factory=list)  # INI999 for files not read
    errors: list[str] = field(default_factory=list)  # paths that do not exist
    warnings: list[str] = field(default_factory=list)  # files skipped in a walked tree
    disk: dict[str, bytes] = field(default_factory=dict)  # bytes as read: --fix writes over them
    notebooks: dict[str, Notebook] = field(default_factory=dict)
    stdin: bytes | None = None  # standard input as read, for --fix to print back
    #: The rest of the named files' packages: analysed with them, never reported nor fixed.
    context: dict[str, bytes] = field(default_factory=dict)
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def lines(self, path: str) -> list[str]:
        """A file's lines, decoded only when asked for (noqa, --show-source)."""
        if path not in self._lines:
            self._lines[path] = source_lines(self.sources.get(path, b""))
        return self._lines[path]

    def located(self) -> list[Finding]:
        """The reported findings, a notebook's in its cells."""
        return [
            self.notebooks[f.path].locate(f) if f.path in self.notebooks else f
            for f in self.reported
        ]

    def source_line(self, finding: Finding) -> str | None:
        """The line a located finding is on (--show-source)."""
        if finding.cell is not None and finding.path in self.notebooks:
            return self.notebooks[finding.path].cell_line(finding.cell, finding.line)
        lines = self.lines(finding.path)
        return lines[finding.line - 1] if 0 < finding.line <= len(lines) else None

    def raw_region(self, finding: Finding) -> tuple[int, int, int, int] | None:
        notebook = self.notebooks.get(finding.path)
        return notebook.raw_region(finding) if notebook is not None else None

    def add_source(self, path: str, data: bytes) -> None:
        """Take a file's bytes; a notebook is read into its virtual source (or an INI999)."""
        self.disk[path] = data
        if not is_notebook(path):
            self.sources[path] = data
            return
        notebook = load_notebook(path, data)
        if isinstance(notebook, Finding):
            self.unreadable.append(notebook)
        elif notebook is not None:  # None: a notebook in another language, nothing to lint
            self.notebooks[path] = notebook
            self.sources[path] = notebook.python.encode("utf-8")


def _settings(args: argparse.Namespace, paths: list[str]) -> Settings:
    """The config file's settings with the command line's on top (raises ConfigError)."""
    discovery_paths = [(args.stdin_filename or ".") if p == STDIN else p for p in paths]
    return apply_overrides(
        discover_settings(discovery_paths, args.config),
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        extend_ignore=args.extend_ignore,
        exclude=args.exclude,
        extend_exclude=args.extend_exclude,
        through_norm=args.through_norm,
        mode=args.mode,
        distribution=args.distribution,
        zero_bias=args.zero_bias,
    )


def _cache_dir(args: argparse.Namespace, settings: Settings) -> str | None:
    if args.no_cache:
        return None
    if args.cache_dir:
        return str(args.cache_dir)
    from .cache import default_directory  # imported when linting: --version stays quick

    directory = default_directory(settings.root)
    return str(directory) if directory is not None else None


def read_run(args: argparse.Namespace, paths: list[str]) -> LintRun:
    """Settings and the files' bytes; no analysis yet."""
    from .files import context_files, find_python_files  # imported when linting: quick --version

    settings = _settings(args, paths)
    file_set = find_python_files([p for p in paths if p != STDIN], settings, args.force_exclude)
    run = LintRun(settings, {}, len(file_set.files), errors=file_set.errors)
    run.warnings = file_set.warnings
    for path in file_set.files:
        data = read_source(path)
        if isinstance(data, Finding):
            run.unreadable.append(data)
        else:
            run.add_source(path, data)
    if STDIN in paths:
        run.stdin = sys.stdin.buffer.read()
        run.add_source(args.stdin_filename or STDIN_DISPLAY_NAME, run.stdin)
        run.files_checked += 1
    named = [*file_set.files, *([args.stdin_filename] if run.stdin and args.stdin_filename else [])]
    walked = [path for path in paths if path != STDIN and os.path.isdir(path)]
    for path in context_files(named, walked, settings):
        data = read_source(path)
        if isinstance(data, bytes):  # an unreadable neighbour is not this run's concern
            run.context[path] = data
    return run


def analyse(args: argparse.Namespace, run: LintRun, sources: dict[str, bytes]) -> list[Finding]:
    """The reported findings of ``sources`` (one call for every file: the analysis follows
    classes across them), after selection, per-file-ignores and ``# noqa``."""
    progress = console.Progress()
    try:
        findings = lint_sources(
            [*sources.items(), *run.context.items()],
            run.settings.options(),
            jobs=args.jobs,
            cache_dir=_cache_dir(args, run.settings),
            isolate=True,  # a crash in native code costs one file, not the run
            progress=progress.update,
        )
    finally:
        progress.finish()
    lines: dict[str, list[str]] = {}

    def lines_of(path: str) -> list[str]:
        if path not in lines:
            lines[path] = source_lines(sources.get(path, b""))
        return lines[path]

    # Only the named files are reported and written: a fix that belongs in a file of their
    # package that was not named (after the init loop of the model that builds them) is not
    # this run's to apply, so it is not offered.
    mine = [
        finding
        if finding.fix is None or finding.fix.target(finding.path) in sources
        else replace(finding, fix=None)
        for finding in findings
        if finding.path in sources
    ]
    return filter_findings(sorted(run.unreadable + mine), run.settings, lines_of)


def lint(args: argparse.Namespace, paths: list[str]) -> LintRun:
    run = read_run(args, paths)
    run.reported = analyse(args, run, run.sources)
    return run


def report(args: argparse.Namespace, run: LintRun, out: TextIO) -> int:
    """Print the run in the chosen format; the exit code."""
    context = Context(
        Style(_use_color(args)),
        source_line=run.source_line if args.show_source and args.format == "text" else None,
        show_fixes=args.show_fixes and not (args.fix or args.diff),
        raw_region=run.raw_region,
    )
    located = run.located()
    out.write(RENDERERS[args.format](located, context))
    extras = sys.stderr if args.format in MACHINE_FORMATS else out  # keep the document valid
    if args.statistics:
        extras.write(render_statistics(located))
    summary_wanted = not args.quiet and args.format in ("text", "grouped")
    if summary_wanted and (run.reported or not run.errors):
        out.write(render_summary(located, run.files_checked))
    for message in run.warnings:
        print(f"init-lint: warning: {message}", file=sys.stderr)
    for message in run.errors:
        print(f"init-lint: error: {message}", file=sys.stderr)
    return _status(args, run)


def _status(args: argparse.Namespace, run: LintRun) -> int:
    if any(is_internal_error(finding) for finding in run.reported):
        return console.INTERNAL_ERROR  # the tool broke on a file: not the same as findings
    if run.errors:
        return console.ERROR
    return console.FINDINGS if run.reported and not args.exit_zero else console.OK


def _fixed_bytes(run: LintRun, path: str, fixed: bytes) -> bytes:
    """What to write for a fixed file: a notebook's JSON with the changed cells."""
    notebook = run.notebooks.get(path)
    return fixed if notebook is None else notebook.updated(fixed.decode("utf-8"))


def _fixes_list(applied: dict[str, list[Finding]]) -> str:
    """--show-fixes: ``- path:`` then ``N × CODE (name)`` lines, as ruff lists its fixes."""
    lines = []
    for path, findings in sorted(applied.items()):
        lines.append(f"- {path}:\n")
        for code, count in sorted(Counter(f.code for f in findings).items()):
            lines.append(f"    {count} × {code} ({rule_for(code).name})\n")
    return "".join(lines)


def _error(message: str) -> None:
    print(f"init-lint: error: {message}", file=sys.stderr)


def _fixed_files(run: LintRun, outcome: FixRun) -> tuple[dict[str, bytes], bool]:
    """What to write for each changed file (a notebook's JSON, for a notebook); and whether
    anything went wrong, said on stderr."""
    failed = bool(outcome.unstable or outcome.ineffective)
    for path in outcome.unstable:
        _error(f"{path}: the fixes did not reach a fixed point; please report it")
    for path in outcome.ineffective:
        _error(f"{path}: not fixed: a fix did not remove its finding; please report it")
    for result in outcome.results.values():
        if result.error:
            print(f"init-lint: warning: {result.path}: {result.error}", file=sys.stderr)
    changed: dict[str, bytes] = {}
    for result in outcome.changed:
        try:
            changed[result.path] = _fixed_bytes(run, result.path, result.fixed)
        except NotebookError as error:
            _error(f"{result.path}: cannot apply the fixes: {error}")
            failed = True
    return changed, failed


def _write(
    args: argparse.Namespace, run: LintRun, outcome: FixRun, changed: dict[str, bytes]
) -> tuple[dict[str, list[Finding]], bool]:
    """Write the changed files (not standard input); the findings fixed in each, and whether a
    write failed. A file edited since it was read, or a symlink out of the named paths, is left
    as it is (see :func:`init_lint.fixer.write_fixed`)."""
    from .fixer import NotWritten, write_fixed

    allowed = [os.path.realpath(path) for path in (args.paths or ["."]) if path != STDIN]
    written: dict[str, list[Finding]] = {}
    failed = False
    for result in outcome.changed:
        if _is_stdin(args, result.path) or result.path not in changed:
            continue
        try:
            write_fixed(result.path, run.disk[result.path], changed[result.path], allowed)
            written[result.path] = result.applied
        except NotWritten as error:
            _error(f"{result.path}: not fixed: {error}")
            failed = True
    return written, failed


def fix(args: argparse.Namespace, paths: list[str], out: TextIO) -> int:
    """--fix / --diff: apply (or show) the findings' fixes; then report what is left."""
    # Imported here: the fixer needs libcst.codemod, a quarter second that a plain lint run,
    # the common case on every commit, does not pay.
    from .fixer import fix_until_stable

    run = read_run(args, paths)
    outcome = fix_until_stable(run.sources, lambda sources: analyse(args, run, sources))
    changed, failed = _fixed_files(run, outcome)
    if args.diff:
        for result in outcome.changed:
            notebook = run.notebooks.get(result.path)
            if notebook is None:
                out.write(result.diff())
            elif result.path in changed:
                out.write(notebook.diff(result.fixed.decode("utf-8")))
        return console.ERROR if failed else (console.FINDINGS if changed else console.OK)
    written, write_failed = _write(args, run, outcome, changed)
    failed = failed or write_failed
    if STDIN in paths:  # like ruff: the fixed source goes to standard output, what is left to
        name = args.stdin_filename or STDIN_DISPLAY_NAME  # standard error
        sys.stdout.buffer.write(changed.get(name, run.stdin or b""))
        sys.stdout.flush()
        left = [f for f in outcome.findings if f.path == name]
        sys.stderr.write(render_text(left, Context(Style(False))))
        if failed:
            return console.ERROR
        return console.FINDINGS if left and not args.exit_zero else console.OK
    if not args.quiet and args.format in ("text", "grouped"):
        count = sum(len(findings) for findings in written.values())
        out.write(f"Fixed {count} finding(s) in {len(written)} file(s).\n")
        if args.show_fixes and written:
            out.write(_fixes_list(written))
    for path, data in changed.items():
        _replace_source(run, path, data)
    run.reported = outcome.findings  # what is left: no autofix
    status = report(args, run, out)
    return console.ERROR if failed and status != console.INTERNAL_ERROR else status


def _replace_source(run: LintRun, path: str, data: bytes) -> None:
    if path in run.notebooks:
        notebook = load_notebook(path, data)
        if isinstance(notebook, Notebook):
            run.notebooks[path] = notebook
            data = notebook.python.encode("utf-8")
    run.sources[path] = data
    run._lines.pop(path, None)


def add_noqa(args: argparse.Namespace, paths: list[str]) -> int:
    """--add-noqa: a ``# noqa: CODES`` comment on every reported line; a file is written only
    when it still parses."""
    from .fixer import NotWritten, write_fixed
    from .noqa import add_noqa as add_directives
    from .noqa import decode

    if STDIN in paths:
        print("init-lint: error: --add-noqa edits files: name them instead of '-'", file=sys.stderr)
        return 2
    run = lint(args, paths)
    by_path: dict[str, dict[int, set[str]]] = {}
    for finding in run.reported:
        if finding.code != PARSE_ERROR_CODE and finding.path in run.sources:
            by_path.setdefault(finding.path, {}).setdefault(finding.line, set()).add(finding.code)
    added, failed = 0, bool(run.errors)
    for path, codes in sorted(by_path.items()):
        text, encoding = decode(run.sources[path])
        new_text, count, refused = add_directives(text, codes)
        for line in refused:
            print(
                f"init-lint: warning: {path}:{line}: a line continued by a backslash cannot "
                "take a noqa comment",
                file=sys.stderr,
            )
        if not count:
            continue
        try:
            compile(new_text, path, "exec", dont_inherit=True)
            new_bytes = _fixed_bytes(run, path, new_text.encode(encoding))
            write_fixed(path, run.disk[path], new_bytes, [os.path.realpath(p) for p in paths])
        except (SyntaxError, ValueError, NotebookError, NotWritten) as error:
            print(f"init-lint: error: {path}: cannot add noqa comments: {error}", file=sys.stderr)
            failed = True
            continue
        added += count
    print(f"Added {added} noqa directive{'' if added == 1 else 's'}.", file=sys.stderr)
    for message in run.errors:
        print(f"init-lint: error: {message}", file=sys.stderr)
    return 2 if failed else 0


def show_files(args: argparse.Namespace, paths: list[str], out: TextIO) -> int:
    settings = _settings(args, paths)
    from .files import find_python_files

    file_set = find_python_files([p for p in paths if p != STDIN], settings, args.force_exclude)
    for path in file_set.files:
        out.write(f"{path}\n")
    for message in file_set.errors:
        print(f"init-lint: error: {message}", file=sys.stderr)
    return 2 if file_set.errors else 0


def show_settings(args: argparse.Namespace, paths: list[str], out: TextIO) -> int:
    from .settings_view import settings_document, settings_text  # names the file walker's

    settings = _settings(args, paths)
    if args.format == "json":
        out.write(json.dumps(settings_document(settings), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(settings_text(settings))
    return 0


def _is_stdin(args: argparse.Namespace, path: str) -> bool:
    return path == (args.stdin_filename or STDIN_DISPLAY_NAME) and STDIN in (args.paths or [])


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    paths = args.paths or ["."]
    if args.show_settings:
        return show_settings(args, paths, out)
    if args.show_files:
        return show_files(args, paths, out)
    if args.add_noqa:
        return add_noqa(args, paths)
    if args.fix or args.diff:
        return fix(args, paths, out)
    return report(args, lint(args, paths), out)


def _closed_pipe() -> int:
    """`init-lint . | head`: the reader left, nothing more to say."""
    _discard_stdout()
    return console.FINDINGS


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


SUBCOMMANDS = {"verify": _run_verify, "server": _run_server, "rules": _run_rules}

#: Why writing standard output fails: full disk or quota (/dev/full), closed, I/O error.
_OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EBADF, errno.EIO})


def main(argv: Sequence[str] | None = None) -> int:
    console.configure_streams()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:  # Ctrl-C: workers are stopped on the way out; no traceback
        print("init-lint: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except OSError as error:
        if error.errno not in _OUTPUT_ERRORS:
            raise
        _discard_stdout()  # the exit's own flush must not fail again
        reason = error.strerror or str(error)
        print(f"init-lint: error: cannot write the output: {reason}", file=sys.stderr)
        return console.ERROR


def _run(argv: list[str]) -> int:
    try:
        if argv[:1] and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:])
        return _main(argv)
    except OSError as error:
        if error.errno in _OUTPUT_ERRORS or isinstance(error, BrokenPipeError):
            raise  # handled by main()
        return _internal_error(error)
    except Exception as error:  # noqa: BLE001 - a bug: say so, with its own exit status
        return _internal_error(error)


def _internal_error(error: BaseException) -> int:
    from .engine import summary

    print(f"init-lint: internal error: {summary(error)}; please report it", file=sys.stderr)
    return console.INTERNAL_ERROR


def _main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.add_noqa and (args.fix or args.diff):
            parser.error("--add-noqa cannot be combined with --fix or --diff")
    except SystemExit as exit_:  # --help, --version, usage errors: argparse already printed
        sys.stdout.flush()
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.explain is not None:
        return _explain(args, parser)
    problem = console.working_directory_error()
    if problem is not None:
        print(f"init-lint: error: {problem}", file=sys.stderr)
        return console.ERROR
    out: TextIO = sys.stdout
    try:
        if args.output_file:
            out = open(args.output_file, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as error:
        print(
            f"init-lint: error: cannot write {args.output_file}: {error.strerror}", file=sys.stderr
        )
        return console.ERROR
    try:
        status = _dispatch(args, out)
        out.flush()  # inside the try: a closed pipe shows up here
        return status
    except ConfigError as error:
        print(f"init-lint: error: {error}", file=sys.stderr)
        return console.ERROR
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    sys.exit(main())
