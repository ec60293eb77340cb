"""mmengine/mmcv config-driven init: ``super().__init__(init_cfg=dict(type='Kaiming',
layer='Conv2d'))``. The framework's runner calls ``BaseModule.init_weights()`` once the model is
built, which initialises the layers of the listed kinds (and those an ``override`` names) with
the configured scheme. The analysis reads the config where the class hands it to its unseen
base, and applies it to the layers the class owns; a config it cannot read leaves their init
unknown (silence), never the default the message would otherwise claim.

Only the class's own layers are set: mmengine runs a parent's config before its children's
``init_weights``, so a contained block keeps what its own config gives it.
"""

from __future__ import annotations

import libcst as cst

from ..knowledge import InitScheme
from ..library import CONFIG_INITS, HelperArgs
from .common import items_of
from .host import Host
from .values import (
    UNKNOWN,
    UNKNOWN_INIT,
    AppliedInit,
    ConstVal,
    DictVal,
    GroupVal,
    Instance,
    Node,
    Value,
)

#: The keyword (or variable) an mm BaseModule subclass passes its config as, and the
#: attribute BaseModule.__init__ stores it in (subclasses extend it there).
CONFIG_NAME = "init_cfg"


def config_argument(
    call: cst.Call, positional: list[Value], keywords: dict[str, Value]
) -> Value | None:
    """The ``init_cfg`` a ``super().__init__(...)`` call hands on: by keyword, or positionally
    as a variable of that name; None when the call passes none."""
    if CONFIG_NAME in keywords:
        return keywords[CONFIG_NAME]
    index = 0
    for argument in call.args:
        if argument.keyword is not None or argument.star:
            continue
        value = argument.value
        if isinstance(value, cst.Name) and value.value == CONFIG_NAME:
            return positional[index] if index < len(positional) else None
        index += 1
    return None


def apply_config(host: Host, node: Node, config: Value, site: cst.CSTNode | None) -> None:
    """What ``BaseModule.init_weights()`` does with ``config`` to the layers ``node`` owns."""
    if isinstance(config, ConstVal) and config.value is None:
        return
    owned = host.owned_instances(node)
    entries = [config] if isinstance(config, DictVal) else items_of(config)
    for entry in entries if entries is not None else [config]:
        if isinstance(entry, DictVal):
            _apply_entry(host, dict(_fields(entry)), owned, site)
        else:  # an entry it cannot read (one a base of another file set): any layer's init
            host.mark_unknown(owned)


def config_extended(config: Value, added: Value) -> Value:
    """``self.init_cfg += [dict(...)]``: a list the base made of a None config (else the
    ``+=`` would fail) holds entries of its own that this file does not show."""
    before = items_of(config) if not isinstance(config, DictVal) else [config]
    more = items_of(added)
    if more is None:
        return UNKNOWN
    return GroupVal(tuple([*(before if before is not None else [UNKNOWN]), *more]))


def _fields(entry: DictVal) -> list[tuple[str, Value]]:
    return [(name, value) for name, value in entry.items if name is not None]


def _apply_entry(
    host: Host, fields: dict[str, Value], owned: list[Instance], site: cst.CSTNode | None
) -> None:
    layers = _names(fields.get("layer"))
    overrides = fields.get("override")
    base = {k: v for k, v in fields.items() if k not in ("layer", "override")}
    if layers is None:
        host.mark_unknown(owned)
    elif layers:
        applied = _applied(base, site)
        for instance in owned:
            if instance.kind in layers or layers.intersection(instance.bases):
                _set(host, instance, applied)
    if overrides is None:
        return
    listed = [overrides] if isinstance(overrides, DictVal) else items_of(overrides)
    for override in listed or ():
        if not isinstance(override, DictVal):
            host.mark_unknown(owned)
            continue
        own = dict(_fields(override))
        name = own.pop("name", None)
        if not (isinstance(name, ConstVal) and isinstance(name.value, str)):
            host.mark_unknown(owned)
            continue
        applied = _applied({**base, **own}, site)
        for instance in owned:
            if _attribute(instance) == name.value:
                _set(host, instance, applied)


def _attribute(instance: Instance) -> str | None:
    """The attribute of its class that holds the layer ('shared_fcs' for shared_fcs[0])."""
    if instance.path is not None:
        return instance.path.split(".")[0]
    if instance.name.startswith("self."):
        return instance.name[len("self.") :].split(".")[0].split("[")[0]
    return None


def _names(value: Value | None) -> set[str] | None:
    """The layer class names of ``layer=`` ('Conv2d' or a list); empty when absent, None when
    it cannot be read."""
    if value is None:
        return set()
    values = [value] if isinstance(value, ConstVal) else items_of(value)
    names = set()
    for item in values or [None]:
        if not (isinstance(item, ConstVal) and isinstance(item.value, str)):
            return None
        names.add(item.value)
    return names


def _applied(fields: dict[str, Value], site: cst.CSTNode | None) -> AppliedInit:
    kind = fields.get("type")
    name = kind.value if isinstance(kind, ConstVal) else None
    scheme_of = CONFIG_INITS.get(name) if isinstance(name, str) else None
    if scheme_of is None:  # 'Pretrained', a registered custom type, a computed type
        return UNKNOWN_INIT

    def number(name: str, default: float | None) -> float | None:
        value = fields.get(name)
        if value is None:
            return default
        given = value.value if isinstance(value, ConstVal) else None
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            return None
        return float(given)

    def text(name: str, default: str | None) -> str | None:
        value = fields.get(name)
        if value is None:
            return default
        given = value.value if isinstance(value, ConstVal) else None
        return given if isinstance(given, str) else None

    scheme: InitScheme = scheme_of(HelperArgs(number, text))
    return AppliedInit(scheme, f"init_cfg type={name!r}", site=site)


def _set(host: Host, instance: Instance, applied: AppliedInit) -> None:
    host.set_inits(instance, frozenset({applied}))
