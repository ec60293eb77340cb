"""``init-lint``: the command-line front end.

Exit codes: 0 nothing reported, 1 findings reported, 2 usage, configuration or I/O error (a
missing path is reported on stderr while the other paths are still linted), 3 init-lint itself
failed (on a file: an INI999 "internal error"; or as a whole).
``init-lint verify ...`` hands over to the runtime verifier, imported only then so that linting
never imports torch.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
from .docs import explain
from .engine import is_internal_error, lint_sources, read_source
from .filtering import filter_findings
from .findings import Finding
from .output import (
    MACHINE_FORMATS,
    RENDERERS,
    Style,
    render_statistics,
    render_summary,
    render_text,
)
from .source import source_lines

if TYPE_CHECKING:
    from .fixer import FixResult

STDIN = "-"
STDIN_DISPLAY_NAME = "<stdin>"

EPILOG = """\
exit codes: 0 clean, 1 findings, 2 usage or I/O error, 3 internal error.
init-lint verify --help   runtime verifier: measures activation statistics of a built model
init-lint --explain INI001   what a rule checks, why, and how to fix it
"""


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
    parser = argparse.ArgumentParser(
        prog="init-lint",
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
    parser.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")

    selection = parser.add_argument_group("rule selection (comma-separated codes or prefixes)")
    selection.add_argument(
        "--select", type=_codes, metavar="CODES", help="report only these (replaces the config)"
    )
    selection.add_argument("--extend-select", type=_codes, metavar="CODES", help="report these too")
    selection.add_argument(
        "--ignore", type=_codes, metavar="CODES", help="do not report these (replaces the config)"
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
        help="analyse files in N worker processes (default: as many as pay off, up to one per CPU)",
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

    report = parser.add_argument_group("output")
    report.add_argument(
        "--format", choices=sorted(RENDERERS), default="text", help="output format (default: text)"
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


def _use_color(args: argparse.Namespace) -> bool:
    return not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


@dataclass
class LintRun:
    """What a run found, kept together for the renderers (and for --fix, which edits sources)."""

    settings: Settings
    sources: dict[str, bytes]  # path as reported → bytes, for every file that could be read
    files_checked: int
    reported: list[Finding] = field(default_factory=list)  # after filtering (and noqa)
    errors: list[str] = field(default_factory=list)  # paths that do not exist
    warnings: list[str] = field(default_factory=list)  # files skipped in a walked tree
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def lines(self, path: str) -> list[str]:
        """A file's lines, decoded only when asked for (noqa, --show-source)."""
        if path not in self._lines:
            self._lines[path] = source_lines(self.sources.get(path, b""))
        return self._lines[path]


def _settings(args: argparse.Namespace, paths: list[str]) -> Settings:
    """The config file's settings with the command line's on top (raises ConfigError)."""
    discovery_paths = [(args.stdin_filename or ".") if p == STDIN else p for p in paths]
    return apply_overrides(
        discover_settings(discovery_paths, args.config),
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
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


def lint(args: argparse.Namespace, paths: list[str]) -> LintRun:
    from .files import find_python_files  # imported when linting: --version stays quick

    settings = _settings(args, paths)
    file_set = find_python_files([p for p in paths if p != STDIN], settings, args.force_exclude)
    sources: dict[str, bytes] = {}
    unreadable: list[Finding] = []
    for path in file_set.files:
        data = read_source(path)
        if isinstance(data, Finding):
            unreadable.append(data)
        else:
            sources[path] = data
    if STDIN in paths:
        sources[args.stdin_filename or STDIN_DISPLAY_NAME] = _stdin(args)
    # One call for every file: the analysis follows classes across them.
    cache_dir = _cache_dir(args, settings)
    progress = console.Progress()
    try:
        findings = unreadable + lint_sources(
            sources.items(),
            settings.options(),
            jobs=args.jobs,
            cache_dir=cache_dir,
            isolate=True,
            progress=progress.update,
        )
    finally:
        progress.finish()
    findings.sort()

    run = LintRun(settings, sources, len(sources) + len(unreadable), errors=file_set.errors)
    run.warnings = file_set.warnings
    run.reported = filter_findings(findings, settings, run.lines)
    return run


def report(args: argparse.Namespace, run: LintRun) -> int:
    """Print the run in the chosen format; the exit code."""
    style = Style(_use_color(args))
    if args.show_source and args.format == "text":
        sys.stdout.write(render_text(run.reported, style, run.lines))
    else:
        sys.stdout.write(RENDERERS[args.format](run.reported, style))
    extras = sys.stderr if args.format in MACHINE_FORMATS else sys.stdout
    if args.statistics:
        extras.write(render_statistics(run.reported))
    summary_wanted = not args.quiet and args.format in ("text", "grouped")
    if summary_wanted and (run.reported or not run.errors):
        sys.stdout.write(render_summary(run.reported, run.files_checked))
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


#: --fix repeats while edits were held back because they overlapped others in the same round.
MAX_FIX_ROUNDS = 4


@dataclass
class _Fixing:
    """What --fix / --diff did over its rounds."""

    allowed: list[str]  # real paths of what was named: nothing is written outside them
    findings: int = 0  # fixed (or, with --diff, fixable)
    changed: dict[str, FixResult] = field(default_factory=dict)  # path → original → last fix
    failed: set[str] = field(default_factory=set)  # paths that could not be written


def fix(args: argparse.Namespace, paths: list[str]) -> int:
    """--fix / --diff: apply (or show) the findings' fixes; then report what is left."""
    fixing = _Fixing([os.path.realpath(path) for path in paths if path != STDIN])
    for _ in range(1 if args.diff else MAX_FIX_ROUNDS):
        if not _fix_round(args, paths, fixing):
            break
    if args.diff:
        for result in fixing.changed.values():
            sys.stdout.write(result.diff())
        if fixing.failed:
            return console.ERROR
        return console.FINDINGS if fixing.changed else console.OK
    if STDIN in paths:  # like ruff: the fixed source goes to standard output, findings to stderr
        sys.stdout.buffer.write(_stdin(args))
        sys.stdout.flush()
        left = lint(args, paths)
        sys.stderr.write(render_text(left.reported, Style(False)))
        return _status(args, left)
    if not args.quiet and args.format in ("text", "grouped"):
        print(f"Fixed {fixing.findings} finding(s) in {len(fixing.changed)} file(s).")
    status = report(args, lint(args, paths))  # what is left: no autofix, or held back
    return console.ERROR if fixing.failed and status != console.INTERNAL_ERROR else status


def _fix_round(args: argparse.Namespace, paths: list[str], fixing: _Fixing) -> bool:
    """Lint, then apply (or record for --diff) every fix; True if another round may help."""
    # Imported here: the fixer needs libcst.codemod, a quarter second that a plain lint run,
    # the common case on every commit, does not pay.
    from .fixer import FixResult, NotWritten, fix_findings, write_fixed

    run = lint(args, paths)
    results = [r for r in fix_findings(run.reported, run.sources) if r.path not in fixing.failed]
    for result in results:
        if result.error:
            print(f"init-lint: warning: {result.path}: {result.error}", file=sys.stderr)
        if not result.changed or result.path not in run.sources:
            continue
        if _is_stdin(args, result.path):
            args.stdin_data = result.fixed  # the next round lints the fixed source
        elif not args.diff:
            try:
                write_fixed(result.path, result.original, result.fixed, fixing.allowed)
            except NotWritten as error:
                print(f"init-lint: error: {result.path}: not fixed: {error}", file=sys.stderr)
                fixing.failed.add(result.path)
                continue
        fixing.findings += len(result.applied)
        first = fixing.changed.get(result.path, result)
        fixing.changed[result.path] = FixResult(result.path, first.original, result.fixed)
    return any(r.skipped and r.changed and r.path not in fixing.failed for r in results)


def _stdin(args: argparse.Namespace) -> bytes:
    """Standard input, read once (``--fix -`` lints it again after fixing it)."""
    if getattr(args, "stdin_data", None) is None:
        args.stdin_data = sys.stdin.buffer.read()
    data: bytes = args.stdin_data
    return data


def _is_stdin(args: argparse.Namespace, path: str) -> bool:
    return path == (args.stdin_filename or STDIN_DISPLAY_NAME) and STDIN in (args.paths or [])


def main(argv: Sequence[str] | None = None) -> int:
    console.configure_streams()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `init-lint . | head`: the reader left, nothing more to say
        _discard_stdout()
        return console.FINDINGS
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


#: Why writing standard output fails: full disk or quota (/dev/full), closed, I/O error.
_OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EBADF, errno.EIO})


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _run(argv: list[str]) -> int:
    try:
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
    if argv[:1] == ["verify"]:
        return _run_verify(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors: argparse already printed
        sys.stdout.flush()
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.explain is not None:
        try:
            sys.stdout.write(explain(args.explain))
        except KeyError:
            parser.print_usage(sys.stderr)
            print(f"init-lint: error: unknown rule code {args.explain!r}", file=sys.stderr)
            return 2
        sys.stdout.flush()
        return 0
    problem = console.working_directory_error()
    if problem is not None:
        print(f"init-lint: error: {problem}", file=sys.stderr)
        return console.ERROR
    try:
        paths = args.paths or ["."]
        if args.fix or args.diff:
            status = fix(args, paths)
        else:
            status = report(args, lint(args, paths))
        sys.stdout.flush()  # inside the try: a closed pipe shows up here
        return status
    except ConfigError as error:
        print(f"init-lint: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
