"""Static analysis (stub being replaced by the real engine)."""

from __future__ import annotations

from typing import Any


def analyze_module(module: Any, path: str, module_name: str, options: Any) -> Any:
    return []


def resolve(facts: list[Any], options: Any) -> list[Any]:
    return []
