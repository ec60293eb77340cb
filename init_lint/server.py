"""``init-lint server``: a language server (LSP over stdio, built on pygls).

Diagnostics are published when a Python document is opened, changed (debounced) or saved.
Each lint is a project run of the same engine as the command line: the document's text (and
that of any other open document) with the other files of its package read from disk, their
per-file facts coming from the analysis cache, so that a class initialised in another file is
followed as ``init-lint`` follows it and a warm project answers in a fraction of a second.
Settings come from the nearest ``[tool.init-lint]``, as for the command line; findings are
filtered the same way (selection, per-file-ignores, ``# noqa``, file exemptions).

A diagnostic carries the rule's code, its severity (the rule's level, as in SARIF and GitHub
output) and, when the rule pages can be found, a link to the rule's page. Code actions: each
finding's autofix as a quick fix (the edit ``--fix`` makes, imports included), "Disable CODE
for this line" (a ``# noqa: CODE`` comment, merged as ``--add-noqa`` merges it), and
``source.fixAll.init-lint`` for the whole document.

The server changes into the workspace root, so that file paths and cache entries are those of
an ``init-lint .`` run from there and the two share the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from . import __version__
from .cache import default_directory
from .config import ConfigError, Settings, discover_settings
from .docs import default_docs_dir
from .engine import lint_sources
from .files import context_files
from .filtering import filter_findings
from .findings import Finding
from .lines import split_lines
from .noqa import add_noqa
from .rules import Level, rule_for
from .source import source_lines

log = logging.getLogger(__name__)

#: Quiet time after the last change before a lint starts.
DEBOUNCE_SECONDS = 0.25
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.init-lint"
SOURCE = "init-lint"


def uri_to_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def display_path(absolute: str) -> str:
    """The path as an ``init-lint .`` run from the working directory names it."""
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


def package_files(path: str, settings: Settings) -> list[str]:
    """The files whose facts can change this file's findings: those of its top-level package
    (the classes it imports or is contained in), or of its directory for a plain script."""
    return [display_path(name) for name in context_files([path], [], settings)]


@dataclass
class Lint:
    """One document's findings at one version of its text."""

    version: int | None
    text: str
    findings: list[Finding]


@dataclass
class Project:
    """The sources of one lint: the document's package, open documents' text over the disk."""

    settings: Settings
    sources: dict[str, bytes] = field(default_factory=dict)

    def findings(self, sources: dict[str, bytes] | None = None) -> list[Finding]:
        sources = self.sources if sources is None else sources
        # In this process: a forked pool worker would close its copy of stdin, whose lock the
        # server's reader thread holds, and hang. A warm project has at most the edited file to
        # analyse anyway; a cold one is analysed once and cached.
        found = lint_sources(
            sources.items(),
            self.settings.options(),
            jobs=1,
            cache_dir=default_directory(self.settings.root),
        )
        lines: dict[str, list[str]] = {}

        def lines_of(path: str) -> list[str]:
            if path not in lines:
                lines[path] = source_lines(sources.get(path, b""))
            return lines[path]

        return filter_findings(sorted(found), self.settings, lines_of)


def build_project(path: str, open_texts: dict[str, str]) -> Project:
    """``path``'s project; raises ConfigError for a bad ``[tool.init-lint]``."""
    settings = discover_settings([path], None)
    project = Project(settings)
    for name in [*package_files(path, settings), path]:
        if name in project.sources:
            continue
        if name in open_texts:
            project.sources[name] = open_texts[name].encode("utf-8")
            continue
        try:
            project.sources[name] = Path(name).read_bytes()
        except OSError:
            continue
    return project


def _position(lines: Sequence[str], line: int, column: int) -> tuple[int, int]:
    """0-based (line, code point) for a 1-based finding position, within the document."""
    if line > len(lines):
        return len(lines), 0
    return max(line - 1, 0), max(column - 1, 0)


def _replacements(old: str, new: str) -> list[tuple[int, int, str]]:
    """(first line, end line, text): the line ranges of ``old`` to replace to get ``new``."""
    before, after = split_lines(old, keepends=True), split_lines(new, keepends=True)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [
        (i1, i2, "".join(after[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


class InitLintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("init-lint", __version__)
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.lints: dict[str, Lint] = {}  # by URI
        self.lock = asyncio.Lock()
        self.docs_url: str | None = None  # a template with {code}

    # -- positions ---------------------------------------------------------------------------

    def _range(
        self, document: TextDocument, lines: Sequence[str], start: tuple[int, int],
        end: tuple[int, int],
    ) -> types.Range:  # fmt: skip
        codec = document.position_codec
        return types.Range(
            codec.position_to_client_units(lines, types.Position(*start)),
            codec.position_to_client_units(lines, types.Position(*end)),
        )

    def text_edits(self, document: TextDocument, new_text: str) -> list[types.TextEdit]:
        """The line-level edits that turn the document into ``new_text``."""
        lines = split_lines(document.source, keepends=True)

        def start_of(line: int) -> tuple[int, int]:
            if line < len(lines) or not lines or lines[-1].endswith(("\n", "\r")):
                return line, 0
            return len(lines) - 1, len(lines[-1])  # the end of a last line with no line break

        return [
            types.TextEdit(self._range(document, lines, start_of(first), start_of(end)), text)
            for first, end, text in _replacements(document.source, new_text)
        ]

    # -- linting -----------------------------------------------------------------------------

    def rule_link(self, code: str) -> types.CodeDescription | None:
        if self.docs_url is not None:
            return types.CodeDescription(href=self.docs_url.format(code=code))
        page = default_docs_dir() / f"{code}.md"
        return types.CodeDescription(href=page.as_uri()) if page.is_file() else None

    def diagnostic(
        self, document: TextDocument, lines: Sequence[str], finding: Finding
    ) -> types.Diagnostic:
        start = _position(lines, finding.line, finding.column)
        end = _position(lines, finding.end_line or finding.line, finding.end_column or 0)
        if end <= start:  # no extent: the rest of the line
            end = (start[0], len(lines[start[0]].rstrip("\r\n")) if start[0] < len(lines) else 0)
        rule = rule_for(finding.code)
        return types.Diagnostic(
            range=self._range(document, lines, start, end),
            message=finding.message,
            severity=(
                types.DiagnosticSeverity.Error
                if rule.level is Level.ERROR
                else types.DiagnosticSeverity.Warning
            ),
            code=finding.code,
            code_description=self.rule_link(finding.code),
            source=SOURCE,
            data={"fixable": finding.fix is not None and bool(finding.fix.edits)},
        )

    def open_documents(self) -> dict[str, TextDocument]:
        """Open Python documents by the path a run names them with."""
        documents = {}
        for uri, document in self.workspace.text_documents.items():
            path = uri_to_path(uri)
            if path is not None and path.endswith(".py"):
                documents[display_path(path)] = document
        return documents

    def schedule(self, uri: str, delay: float) -> None:
        """Lint ``uri`` after ``delay`` seconds, unless it changes again before then."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self._lint_later(uri, delay))

    async def _lint_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self.pending.pop(uri, None)
        path = uri_to_path(uri)
        if path is None or not path.endswith(".py") or uri not in self.workspace.text_documents:
            return
        async with self.lock:
            documents = self.open_documents()
            snapshot = {name: (doc.uri, doc.version, doc.source) for name, doc in documents.items()}
            try:
                results = await asyncio.to_thread(
                    _lint_open_documents, display_path(path), snapshot
                )
            except ConfigError as error:
                self.window_show_message(
                    types.ShowMessageParams(types.MessageType.Error, f"init-lint: {error}")
                )
                return
        for doc_uri, lint in results.items():
            document = self.workspace.text_documents.get(doc_uri)
            if document is None or document.version != lint.version:
                continue  # changed meanwhile: its own lint is on the way
            self.lints[doc_uri] = lint
            lines = split_lines(lint.text, keepends=True)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=doc_uri,
                    version=lint.version,
                    diagnostics=[self.diagnostic(document, lines, f) for f in lint.findings],
                )
            )

    # -- code actions ------------------------------------------------------------------------

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        document = self.workspace.text_documents.get(uri)
        lint = self.lints.get(uri)
        if document is None or lint is None or lint.version != document.version:
            return []  # stale: new diagnostics (and actions) follow the lint under way
        lines = split_lines(lint.text, keepends=True)
        wanted = params.context.only
        actions: list[types.CodeAction] = []
        for finding in lint.findings:
            diagnostic = self.diagnostic(document, lines, finding)
            if not _overlaps(diagnostic.range, params.range):
                continue
            if wanted is None or types.CodeActionKind.QuickFix in wanted:
                actions.extend(self._quick_fixes(document, lint, finding, diagnostic))
        if wanted is None or any(FIX_ALL_KIND.startswith(kind) for kind in wanted):
            fix_all = self._fix_all(document, lint)
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    def _quick_fixes(
        self, document: TextDocument, lint: Lint, finding: Finding, diagnostic: types.Diagnostic
    ) -> list[types.CodeAction]:
        from .fixer import fix_source

        actions = []
        path = display_path(document.path)
        if finding.fix is not None and finding.fix.edits and finding.fix.path in (None, path):
            result = fix_source(path, lint.text.encode("utf-8"), [finding])
            if result.changed:
                actions.append(
                    self._action(
                        f"{finding.fix.description} ({finding.code})",
                        types.CodeActionKind.QuickFix,
                        document,
                        result.fixed.decode("utf-8"),
                        [diagnostic],
                        preferred=True,
                    )
                )
        silenced, added, _ = add_noqa(lint.text, {finding.line: [finding.code]})
        if added:
            actions.append(
                self._action(
                    f"Disable {finding.code} for this line",
                    types.CodeActionKind.QuickFix,
                    document,
                    silenced,
                    [diagnostic],
                )
            )
        return actions

    def _fix_all(self, document: TextDocument, lint: Lint) -> types.CodeAction | None:
        if not any(f.fix is not None and f.fix.edits for f in lint.findings):
            return None
        from .fixer import fix_until_stable

        path = display_path(document.path)
        open_texts = {name: doc.source for name, doc in self.open_documents().items()}
        try:
            project = build_project(path, open_texts)
        except ConfigError:
            return None
        project.sources[path] = lint.text.encode("utf-8")

        def document_findings(sources: dict[str, bytes]) -> list[Finding]:
            return [f for f in project.findings(sources) if f.path == path]

        outcome = fix_until_stable(project.sources, document_findings)
        result = outcome.results.get(path)
        if result is None or not result.changed:
            return None
        return self._action(
            "Fix all init-lint findings", FIX_ALL_KIND, document, result.fixed.decode("utf-8")
        )

    def _action(
        self,
        title: str,
        kind: str,
        document: TextDocument,
        new_text: str,
        diagnostics: list[types.Diagnostic] | None = None,
        preferred: bool = False,
    ) -> types.CodeAction:
        edit = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=document.uri, version=document.version
                    ),
                    edits=list(self.text_edits(document, new_text)),
                )
            ]
        )
        return types.CodeAction(
            title=title, kind=kind, diagnostics=diagnostics, edit=edit, is_preferred=preferred
        )


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _lint_open_documents(
    path: str, snapshot: dict[str, tuple[str, int | None, str]]
) -> dict[str, Lint]:
    """Lint ``path``'s project; a :class:`Lint` for each open document in it (runs in a worker
    thread: everything it reads was copied from the workspace before)."""
    project = build_project(path, {name: text for name, (_, _, text) in snapshot.items()})
    findings = project.findings()
    results = {}
    for name, (uri, version, text) in snapshot.items():
        if name in project.sources:
            results[uri] = Lint(version, text, [f for f in findings if f.path == name])
    return results


def create_server() -> InitLintServer:
    server = InitLintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: InitLintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("ruleDocsUrl"), str):
            ls.docs_url = options["ruleDocsUrl"]
        folders = params.workspace_folders or []
        root = uri_to_path(folders[0].uri) if folders else None
        root = root or (uri_to_path(params.root_uri) if params.root_uri else None)
        if root and os.path.isdir(root):
            os.chdir(root)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: InitLintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: InitLintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: InitLintServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: InitLintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.lints.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    def code_action(ls: InitLintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="init-lint server",
        description="Language server for editors (LSP over standard input and output).",
        allow_abbrev=False,
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    parser.add_argument("--log-level", default="WARNING", help="logging on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="init-lint server: %(message)s")
    create_server().start_io()
    return 0
