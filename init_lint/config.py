"""``[tool.init-lint]`` settings: discovery, validation, and merging with command-line flags.

Discovery follows ruff: walk up from the linted paths to the nearest ``pyproject.toml`` that has a
``[tool.init-lint]`` table. ``--config PATH`` names the file instead (a ``pyproject.toml`` is read
from its ``[tool.init-lint]`` table, any other TOML file from its top level). Every value is
checked here, so that a typo becomes a :class:`ConfigError` naming the key, never a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine import read_source
from .library import FACTORY_KINDS, check_entry_point, parse_helper_spec
from .options import DISTRIBUTIONS, MODES, Distribution, FanMode, Options
from .rules import ALL_CODES

_CODE_PREFIX = re.compile(r"INI\d{0,3}")


class ConfigError(Exception):
    """A setting that cannot be used; the message names the key and where it came from."""


@dataclass(frozen=True)
class Settings:
    """Everything a front end needs: which codes to report, which files to skip, analysis options.

    ``root`` is the directory that ``exclude`` and ``per-file-ignores`` patterns are relative to:
    the config file's directory, or the working directory when there is no config file.
    """

    root: Path = field(default_factory=Path.cwd)
    source: str | None = None  # the config file the settings came from, for messages
    select: tuple[str, ...] | None = None  # None: every rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] | None = None  # None: the default excludes (see files.py)
    extend_exclude: tuple[str, ...] = ()
    through_norm: bool = False
    mode: FanMode = "fan_in"
    distribution: Distribution = "normal"
    zero_bias: bool = False
    line_length: int | None = None  # None: the formatter's (see formatter_line_length)
    activation_factories: tuple[tuple[str, str], ...] = ()
    init_helpers: tuple[tuple[str, str], ...] = ()
    init_entry_points: tuple[tuple[str, str], ...] = ()

    def options(self) -> Options:
        return Options(
            through_norm=self.through_norm,
            mode=self.mode,
            distribution=self.distribution,
            zero_bias=self.zero_bias,
            line_length=self.line_length or DEFAULT_LINE_LENGTH,
            activation_factories=self.activation_factories,
            init_helpers=self.init_helpers,
            init_entry_points=self.init_entry_points,
        )


def check_codes(values: Iterable[str], where: str) -> tuple[str, ...]:
    """Upper-cased codes or prefixes (``INI``, ``INI00``, ``INI001``); unknown ones are errors."""
    codes = []
    for raw in values:
        code = raw.strip().upper()
        if not code:
            continue
        if not _CODE_PREFIX.fullmatch(code) or not any(c.startswith(code) for c in ALL_CODES):
            known = ", ".join(ALL_CODES)
            raise ConfigError(f"{where}: unknown rule code {raw.strip()!r} (known: {known})")
        codes.append(code)
    return tuple(codes)


def check_choice(value: object, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise ConfigError(f"{where}: must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _string_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: must be a list of strings, not {value!r}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false, not {value!r}")
    return value


_STARS = re.compile(r"\*{2,}")
#: More wildcards than this in one path component make matching a path exponentially slow
#: (pathspec's regular expressions backtrack); no real pattern needs as many.
MAX_WILDCARDS = 6


def check_pattern(pattern: str, where: str) -> str:
    """A gitignore-style pattern, normalised; a ConfigError if it cannot be used.

    A run of ``*`` inside a component means what one ``*`` means (a component that is only
    stars is ``**``), as in git; collapsing them keeps matching fast.
    """
    import pathspec

    parts = []
    for part in pattern.split("/"):
        if _STARS.fullmatch(part):
            parts.append("**")
            continue
        part = _STARS.sub("*", part)
        if part.count("*") + part.count("?") > MAX_WILDCARDS:
            raise ConfigError(
                f"{where}: pattern {pattern!r} has more than {MAX_WILDCARDS} wildcards in one "
                "path component"
            )
        parts.append(part)
    normal = "/".join(parts)
    try:
        pathspec.GitIgnoreSpec.from_lines([normal])
    except (ValueError, re.error) as error:  # e.g. a character range [z-a]
        raise ConfigError(f"{where}: invalid pattern {pattern!r}: {error}") from None
    return normal


def _patterns(value: object, where: str) -> tuple[str, ...]:
    return tuple(check_pattern(pattern, where) for pattern in _string_list(value, where))


def _per_file_ignores(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table of glob = [codes], not {value!r}")
    return tuple(
        (
            check_pattern(pattern, f"{where}.{pattern!r}"),
            check_codes(_string_list(codes, f"{where}.{pattern!r}"), f"{where}.{pattern!r}"),
        )
        for pattern, codes in value.items()
    )


_QUALIFIED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _library_table(
    value: object, where: str, check: Callable[[str], object]
) -> tuple[tuple[str, str], ...]:
    """A table of ``"package.module.name" = "value"``; ``check`` raises ValueError for a bad
    value."""
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: must be a table of "qualified.name" = "value", not {value!r}')
    entries = []
    for name, entry in value.items():
        if not _QUALIFIED.fullmatch(name):
            raise ConfigError(f"{where}: {name!r} is not a qualified name (package.module.name)")
        if not isinstance(entry, str):
            raise ConfigError(f"{where}.{name!r}: must be a string, not {entry!r}")
        try:
            check(entry)
        except ValueError as error:
            raise ConfigError(f"{where}.{name!r}: {entry!r}: {error}") from None
        entries.append((name, entry))
    return tuple(sorted(entries))


def _factory_kind(value: str) -> str:
    if value not in FACTORY_KINDS:
        raise ValueError(f"must be one of {', '.join(FACTORY_KINDS)}")
    return value


#: [tool.init-lint] tables of library knowledge: key → (Settings field, value check).
LIBRARY_TABLES: dict[str, tuple[str, Callable[[str], object]]] = {
    "activation-factories": ("activation_factories", _factory_kind),
    "init-helpers": ("init_helpers", parse_helper_spec),
    "init-entry-points": ("init_entry_points", check_entry_point),
}


def settings_from_table(table: Mapping[str, Any], root: Path, source: str) -> Settings:
    """Validate one ``[tool.init-lint]`` table. ``source`` names it in error messages."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{source}: {key}"
        if key in ("select", "extend-select", "ignore", "extend-ignore"):
            values[key.replace("-", "_")] = check_codes(_string_list(value, where), where)
        elif key in ("exclude", "extend-exclude"):
            values[key.replace("-", "_")] = _patterns(value, where)
        elif key == "per-file-ignores":
            values["per_file_ignores"] = _per_file_ignores(value, where)
        elif key in ("through-norm", "zero-bias"):
            values[key.replace("-", "_")] = _bool(value, where)
        elif key == "mode":
            values["mode"] = check_choice(value, MODES, where)
        elif key == "distribution":
            values["distribution"] = check_choice(value, DISTRIBUTIONS, where)
        elif key == "line-length":
            values["line_length"] = _line_length(value, where)
        elif key in LIBRARY_TABLES:
            field_name, check = LIBRARY_TABLES[key]
            values[field_name] = _library_table(value, where, check)
        else:
            known = "select, extend-select, ignore, extend-ignore, per-file-ignores, exclude, "
            known += "extend-exclude, "
            known += "through-norm, mode, distribution, zero-bias, line-length, "
            known += ", ".join(LIBRARY_TABLES)
            raise ConfigError(f"{source}: unknown key {key!r} (known keys: {known})")
    return Settings(root=root, source=source, **values)


#: A config file bigger than this is not a config file.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def _tomllib() -> Any:
    """The TOML parser, imported when a config file is read (--version stays quick)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def __getattr__(name: str) -> Any:  # ``from init_lint.config import tomllib`` still works
    if name == "tomllib":
        return _tomllib()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    tomllib = _tomllib()
    data = read_source(str(path))  # never blocks on a FIFO; refuses what is not a file
    if not isinstance(data, bytes):
        raise ConfigError(f"{path}: cannot read config file: {data.message}")
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: not a config file (over {MAX_CONFIG_BYTES} bytes)")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text ({error.reason})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _tool_table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    tool = data.get("tool")
    if not isinstance(tool, dict):
        return None  # no [tool] table (or not a table at all): nothing of ours in this file
    table = tool.get("init-lint")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.init-lint] must be a table")
    return table


def load_config(path: Path) -> Settings:
    """Settings from an explicitly named file (``--config``)."""
    data = _read_toml(path)
    table = _tool_table(data, path) if path.name == "pyproject.toml" else data
    return settings_from_table(table or {}, path.resolve().parent, str(path))


def find_config(start: Path) -> Settings | None:
    """Settings from the nearest ``pyproject.toml`` at or above ``start`` that has a
    ``[tool.init-lint]`` table; ``None`` when there is none."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        if candidate.is_file():
            table = _tool_table(_read_toml(candidate), candidate)
            if table is not None:
                return settings_from_table(table, candidate_dir, str(candidate))
    return None


def common_start(paths: Sequence[str]) -> Path:
    """Where discovery starts: the deepest directory that contains every linted path."""
    existing = [os.path.abspath(p) for p in paths if os.path.exists(p)]
    if not existing:
        return Path.cwd()
    common = Path(os.path.commonpath(existing))
    return common if common.is_dir() else common.parent


def discover_settings(paths: Sequence[str], config: str | None) -> Settings:
    start = common_start(paths)
    settings = load_config(Path(config)) if config is not None else find_config(start)
    settings = settings or Settings()
    if settings.line_length is None:
        settings = replace(settings, line_length=formatter_line_length(start))
    return settings


#: black's and ruff's default line length.
DEFAULT_LINE_LENGTH = 88


def formatter_line_length(start: Path) -> int | None:
    """The line length of the project's formatter: ``line-length`` in the nearest ``ruff.toml``
    / ``.ruff.toml``, or ``[tool.ruff]`` / ``[tool.black]`` of the nearest ``pyproject.toml``
    that has one of them. None: not configured (the default, 88, applies). A file that cannot
    be read says nothing here: it is the formatter's to complain about."""
    directory = start.resolve()
    for candidate_dir in (directory, *directory.parents):
        for name in ("ruff.toml", ".ruff.toml", "pyproject.toml"):
            candidate = candidate_dir / name
            if not candidate.is_file():
                continue
            try:
                data = _read_toml(candidate)
            except ConfigError:
                continue
            tables = [data] if name != "pyproject.toml" else []
            tool = data.get("tool") if name == "pyproject.toml" else None
            if isinstance(tool, dict):
                tables += [t for t in (tool.get("ruff"), tool.get("black")) if isinstance(t, dict)]
            for table in tables:
                value = table.get("line-length", table.get("line_length"))
                if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 1000:
                    return value
            if tables:
                return None  # the nearest formatter config says nothing: its default holds
    return None


def _line_length(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1000:
        raise ConfigError(f"{where}: expected a whole number from 1 to 1000, got {value!r}")
    return value


def apply_overrides(settings: Settings, **overrides: Any) -> Settings:
    """Command-line values win over the file; ``None`` means "not given on the command line".

    ``extend_select``, ``extend_ignore`` and ``extend_exclude`` add to the file's lists; the
    others replace. As in ruff, ``--select`` starts the selection afresh, so the file's
    ``extend-select`` is dropped; as in flake8, the file's ``extend-ignore`` outlives
    ``--ignore``.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    for key in ("exclude", "extend_exclude"):
        if key in given:
            given[key] = tuple(check_pattern(p, f"--{key.replace('_', '-')}") for p in given[key])
    if "select" in given:
        settings = replace(settings, extend_select=())
    for key in ("extend_select", "extend_ignore", "extend_exclude"):
        if key in given:
            given[key] = getattr(settings, key) + tuple(given[key])
    return replace(settings, **given)
