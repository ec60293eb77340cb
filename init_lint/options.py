"""Analysis settings shared by all front ends (the config file and the command line fill them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FanMode = Literal["fan_in", "fan_out"]
Distribution = Literal["normal", "uniform"]
MODES: tuple[FanMode, ...] = ("fan_in", "fan_out")
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "uniform")


@dataclass(frozen=True)
class Options:
    #: Also report layers that reach the rectifier through a norm layer.
    through_norm: bool = False
    #: Preferences for the init call the autofix writes (and messages suggest).
    mode: FanMode = "fan_in"
    distribution: Distribution = "normal"
    zero_bias: bool = False
    #: Where the code a fix writes is wrapped, as the project's formatter would (ruff, black).
    line_length: int = 88
    #: A project's own library knowledge (see :mod:`init_lint.library`), qualified name → value
    #: as written in ``[tool.init-lint]``: sorted pairs, so that the options stay hashable and
    #: their repr, part of every cache key, stable.
    activation_factories: tuple[tuple[str, str], ...] = ()
    init_helpers: tuple[tuple[str, str], ...] = ()
    init_entry_points: tuple[tuple[str, str], ...] = ()
