"""``--show-settings``: the settings a run resolves to, and where they came from.

The text form is a ``[tool.init-lint]`` table (paste it into a ``pyproject.toml``), headed by the
config file it came from; the JSON form carries the same values plus the codes they enable.
"""

from __future__ import annotations

import json
from typing import Any

from .config import Settings
from .files import DEFAULT_EXCLUDE
from .filtering import CodeSelector
from .rules import ALL_CODES


def settings_document(settings: Settings) -> dict[str, Any]:
    """The resolved settings as plain data, keyed as in ``[tool.init-lint]``."""
    selector = CodeSelector(settings)
    return {
        "config_file": settings.source,
        "root": str(settings.root),
        "settings": {
            "select": list(settings.select) if settings.select is not None else ["INI"],
            "extend-select": list(settings.extend_select),
            "ignore": list(settings.ignore),
            "extend-ignore": list(settings.extend_ignore),
            "per-file-ignores": {
                pattern: list(codes) for pattern, codes in settings.per_file_ignores
            },
            "exclude": list(settings.exclude if settings.exclude is not None else DEFAULT_EXCLUDE),
            "extend-exclude": list(settings.extend_exclude),
            "through-norm": settings.through_norm,
            "mode": settings.mode,
            "distribution": settings.distribution,
            "zero-bias": settings.zero_bias,
        },
        "enabled": [code for code in ALL_CODES if selector.enabled(code)],
    }


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string is a JSON string


def settings_text(settings: Settings) -> str:
    document = settings_document(settings)
    source = document["config_file"] or "none (defaults; no pyproject.toml with [tool.init-lint])"
    lines = [
        f"# Settings from: {source}",
        f"# Paths are relative to: {document['root']}",
        f"# Enabled codes: {', '.join(document['enabled'])}",
        "[tool.init-lint]",
    ]
    per_file = document["settings"].pop("per-file-ignores")
    lines += [f"{key} = {_toml(value)}" for key, value in document["settings"].items()]
    lines.append("")
    lines.append("[tool.init-lint.per-file-ignores]")
    lines += [f"{_toml(pattern)} = {_toml(codes)}" for pattern, codes in per_file.items()]
    return "\n".join(lines) + "\n"
