"""One argument binder: which argument a call gives each parameter.

Two levels use it: a call's CST arguments bound to a known signature (``init.kaiming_normal_(w,
0.2, 'fan_out')`` → a, mode; ``nn.Conv2d(64, 64, 3, groups=64)``), and evaluated argument
values bound to a function the interpreter inlines (defaults, ``*args``, ``**kwargs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import libcst as cst

from .values import UNKNOWN, DictVal, GroupVal, Value

T = TypeVar("T")


def match(
    positional: Sequence[T], keywords: Mapping[str, T], names: Sequence[str]
) -> tuple[dict[str, T], list[T]]:
    """Positional arguments to ``names`` in order, then keywords: (bound, extra positionals).
    Keywords that name no parameter are left out (the caller decides where they go)."""
    bound = dict(zip(names, positional, strict=False))
    for name, value in keywords.items():
        if name in names and name not in bound:
            bound[name] = value
    return bound, list(positional[len(names) :])


def bind(
    args: Sequence[cst.Arg], names: Sequence[str], skip: int = 1
) -> dict[str, cst.BaseExpression]:
    """A call's CST arguments by parameter name, after its first ``skip`` positional ones
    (``*``/``**`` arguments bind nothing: what they hold is not known here)."""
    positional = [a.value for a in args if a.keyword is None and not a.star][skip:]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    bound, _extra = match(positional, keywords, names)
    return bound


def bind_values(
    params: cst.Parameters,
    positional: Sequence[Value],
    keywords: Mapping[str, Value],
    *,
    skip_first: bool,
    default: Callable[[cst.Param], Value],
    unfilled: Value | None = None,
    open_ended: bool = False,
) -> dict[str, Value]:
    """Evaluated arguments bound to a function's parameters, as Python would: defaults for the
    ones not given (``default(param)``; UNKNOWN without one), ``*args`` as a group,
    ``**kwargs`` as a dict. ``unfilled`` replaces default and UNKNOWN for positional parameters
    not given (``forward``'s inputs, which a caller always passes). ``open_ended``: the call also
    passed ``*args``/``**kwargs`` of unknown content, so a parameter not bound may have been
    given anything: UNKNOWN, not its default."""
    ordered = [*params.posonly_params, *params.params]
    if skip_first and ordered:
        ordered = ordered[1:]  # self
    names = [p.name.value for p in ordered]
    kwonly = [p.name.value for p in params.kwonly_params]
    bound, extra = match(positional, keywords, names)
    for name, value in keywords.items():
        if name in kwonly:
            bound[name] = value
    env: dict[str, Value] = {}
    for param in [*ordered, *params.kwonly_params]:
        name = param.name.value
        if name in bound:
            env[name] = bound[name]
        elif unfilled is not None and name in names:
            env[name] = unfilled
        elif open_ended:
            env[name] = UNKNOWN
        elif param.default is not None:
            env[name] = default(param)
        else:
            env[name] = UNKNOWN
    if isinstance(params.star_arg, cst.Param):
        # The positionals beyond the named parameters, in order: exactly those unless the call
        # spread something of unknown length (``f(a, *rest)`` forwarded as ``g(*args)``).
        env[params.star_arg.name.value] = GroupVal(tuple(extra), exact=not open_ended)
    if isinstance(params.star_kwarg, cst.Param):
        named = {*names, *kwonly}
        rest = tuple((k, v) for k, v in keywords.items() if k not in named)
        env[params.star_kwarg.name.value] = DictVal(rest)
    return env


def parameter_names(params: cst.Parameters, skip_first: bool = False) -> list[str]:
    """Positional parameter names in order (``self`` dropped when ``skip_first``)."""
    names = [p.name.value for p in [*params.posonly_params, *params.params]]
    return names[1:] if skip_first and names else names
