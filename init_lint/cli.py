"""``init-lint``: the command-line front end.

Exit codes: 0 nothing reported, 1 findings reported, 2 usage, configuration or I/O error (a
missing path is reported on stderr while the other paths are still linted).
``init-lint verify ...`` hands over to the runtime verifier, imported only then so that linting
never imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import __version__
from .cache import DEFAULT_DIRECTORY as DEFAULT_CACHE_DIRECTORY
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
from .engine import lint_sources, read_source
from .files import find_python_files
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

STDIN = "-"
STDIN_DISPLAY_NAME = "<stdin>"

EPILOG = """\
exit codes: 0 clean, 1 findings, 2 usage or I/O error.
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
        help="analyse files in N processes (default: one per CPU; 1: no worker processes)",
    )
    speed.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the analysis cache"
    )
    speed.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"where to cache per-file analysis (default: {DEFAULT_CACHE_DIRECTORY} in the "
        "project root)",
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
    unreadable: list[Finding] = field(default_factory=list)  # INI999 for files not read
    errors: list[str] = field(default_factory=list)  # paths that do not exist
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def lines(self, path: str) -> list[str]:
        """A file's lines, decoded only when asked for (noqa, --show-source)."""
        if path not in self._lines:
            self._lines[path] = self.sources.get(path, b"").decode("utf-8", "replace").splitlines()
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
    return args.cache_dir or str(settings.root / DEFAULT_CACHE_DIRECTORY)


def read_run(args: argparse.Namespace, paths: list[str]) -> LintRun:
    """Settings and the files' bytes; no analysis yet."""
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
        sources[args.stdin_filename or STDIN_DISPLAY_NAME] = sys.stdin.buffer.read()
    return LintRun(
        settings,
        sources,
        len(sources) + len(unreadable),
        errors=file_set.errors,
        unreadable=unreadable,
    )


def analyse(args: argparse.Namespace, run: LintRun, sources: dict[str, bytes]) -> list[Finding]:
    """The reported findings of ``sources`` (one call for every file: the analysis follows
    classes across them), after selection, per-file-ignores and ``# noqa``."""
    findings = lint_sources(
        sources.items(),
        run.settings.options(),
        jobs=args.jobs,
        cache_dir=_cache_dir(args, run.settings),
    )
    lines: dict[str, list[str]] = {}

    def source_lines(path: str) -> list[str]:
        if path not in lines:
            lines[path] = sources.get(path, b"").decode("utf-8", "replace").splitlines()
        return lines[path]

    return filter_findings(sorted(run.unreadable + findings), run.settings, source_lines)


def lint(args: argparse.Namespace, paths: list[str]) -> LintRun:
    run = read_run(args, paths)
    run.reported = analyse(args, run, run.sources)
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
    for message in run.errors:
        print(f"init-lint: error: {message}", file=sys.stderr)
    if run.errors:
        return 2
    return 1 if run.reported and not args.exit_zero else 0


def fix(args: argparse.Namespace, paths: list[str]) -> int:
    """--fix / --diff: apply (or show) the findings' fixes; then report what is left."""
    # Imported here: the fixer needs libcst.codemod, a quarter second that a plain lint run,
    # the common case on every commit, does not pay.
    from .fixer import fix_until_stable, write_atomically

    run = read_run(args, paths)
    outcome = fix_until_stable(run.sources, lambda sources: analyse(args, run, sources))
    failed = bool(outcome.unstable)
    for path in outcome.unstable:
        print(
            f"init-lint: error: {path}: the fixes did not reach a fixed point; please report it",
            file=sys.stderr,
        )
    for result in outcome.results.values():
        if result.error:
            print(f"init-lint: warning: {result.path}: {result.error}", file=sys.stderr)
    if args.diff:
        for result in outcome.changed:
            sys.stdout.write(result.diff())
        return 2 if failed else (1 if outcome.changed else 0)
    written = 0
    for result in outcome.changed:
        if _is_stdin(args, result.path):
            continue
        try:
            write_atomically(result.path, result.fixed)
            written += len(result.applied)
        except OSError as error:
            print(f"init-lint: error: cannot write {result.path}: {error}", file=sys.stderr)
            failed = True
    if STDIN in paths:  # like ruff: the fixed source goes to standard output
        name = args.stdin_filename or STDIN_DISPLAY_NAME
        fixed = outcome.results.get(name)
        sys.stdout.buffer.write(
            fixed.fixed if fixed and fixed.changed else run.sources.get(name, b"")
        )
        sys.stdout.flush()
        return 2 if failed else 0
    if not args.quiet and args.format in ("text", "grouped"):
        files = sum(1 for r in outcome.changed if not _is_stdin(args, r.path))
        print(f"Fixed {written} finding(s) in {files} file(s).")
    run.sources.update({r.path: r.fixed for r in outcome.changed})
    run.reported = outcome.findings  # what is left: no autofix
    status = report(args, run)
    return 2 if failed else status


def _is_stdin(args: argparse.Namespace, path: str) -> bool:
    return path == (args.stdin_filename or STDIN_DISPLAY_NAME) and STDIN in (args.paths or [])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        return _run_verify(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors: argparse already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.explain is not None:
        try:
            sys.stdout.write(explain(args.explain))
        except KeyError:
            parser.print_usage(sys.stderr)
            print(f"init-lint: error: unknown rule code {args.explain!r}", file=sys.stderr)
            return 2
        return 0
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
    except BrokenPipeError:  # `init-lint . | head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
