"""JSON for plain-data results, checked against their type hints: data that cannot run code.

The analysis cache stores per-file results (:class:`~init_lint.analysis.facts.FileFacts`, an
INI999 :class:`~init_lint.findings.Finding`). A pickle would run whatever an entry says; this
codec only ever builds the dataclasses and enums of its registry, field by field, from JSON
values whose types it checks against each field's annotation. The registry is every dataclass
and enum reachable from the roots through type hints, so a field added to or removed from one of
them needs no change here: an entry written before the change no longer matches the class's
fields and is rejected (:class:`CodecError`), which the cache treats as a miss.

Encoding: ``None``, booleans, integers, strings and finite floats are themselves; lists are JSON
arrays; everything else is ``{"$": tag, "v": value}`` with tag ``tuple``, ``frozenset``, ``dict``
(``v`` a list of ``[key, value]`` pairs), ``float`` (``"inf"``, ``"-inf"``, ``"nan"``), an enum's
class name (``v`` its value) or a dataclass's class name (``v`` an object of its fields).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Union

JSON = Any  # what json.loads returns
_PRIMITIVES = (type(None), bool, int, str)


class CodecError(ValueError):
    """A value that the registry cannot encode, or stored data that does not fit the classes."""


class Codec:
    """Encode and decode values made of the registered dataclasses and enums."""

    def __init__(self, roots: Iterable[type]) -> None:
        self._by_name: dict[str, type] = {}
        self._hints: dict[type, dict[str, Any]] = {}
        self._decoders: dict[Any, Decoder] = {}
        self._field_decoders: dict[type, dict[str, Decoder]] = {}
        #: Containers of unknown items (in ``object`` fields), by tag.
        self._untyped = {tag: self._generic_decoder(cls, ()) for tag, cls in _CONTAINERS.items()}
        pending = list(roots)
        while pending:
            cls = pending.pop()
            if cls in self._hints or self._by_name.get(cls.__name__) is cls:
                continue
            if cls.__name__ in self._by_name:
                raise TypeError(f"two registered types are named {cls.__name__}")
            self._by_name[cls.__name__] = cls
            if dataclasses.is_dataclass(cls):
                hints = typing.get_type_hints(cls)
                self._hints[cls] = {
                    f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init
                }
                pending += [t for hint in self._hints[cls].values() for t in _classes(hint)]

    # ----------------------------------------------------------------------------- encode
    def encode(self, value: object, limit: int | None = None) -> JSON:
        """JSON-ready data for ``value``; CodecError beyond ``limit`` values (too big to keep)."""
        return self._encode(value, [limit if limit is not None else -1])

    def _encode(self, value: object, left: list[int]) -> JSON:
        left[0] -= 1
        if left[0] == 0:
            raise CodecError("too many values")
        if isinstance(value, float) and not math.isfinite(value):
            return {"$": "float", "v": repr(value)}
        if isinstance(value, (*_PRIMITIVES, float)) and not isinstance(value, enum.Enum):
            return value
        if isinstance(value, list):
            return [self._encode(item, left) for item in value]
        if isinstance(value, (tuple, frozenset)):
            tag = "tuple" if isinstance(value, tuple) else "frozenset"
            return {"$": tag, "v": [self._encode(item, left) for item in value]}
        if isinstance(value, dict):
            pairs = [[self._encode(k, left), self._encode(v, left)] for k, v in value.items()]
            return {"$": "dict", "v": pairs}
        cls = type(value)
        if self._by_name.get(cls.__name__) is not cls:
            raise CodecError(f"cannot encode a {cls.__name__}")
        if isinstance(value, enum.Enum):
            return {"$": cls.__name__, "v": value.value}
        fields = {name: self._encode(getattr(value, name), left) for name in self._hints[cls]}
        return {"$": cls.__name__, "v": fields}

    # ----------------------------------------------------------------------------- decode
    def decode(self, data: JSON, hint: Any = object) -> Any:
        """The value ``data`` encodes, which must fit ``hint``; else :class:`CodecError`."""
        return self._decoder(hint)(data)

    def _decoder(self, hint: Any) -> Decoder:
        """A function that decodes data fitting ``hint``: the hint is read once, not per value
        (a cache entry holds hundreds of thousands of values of a few dozen hints)."""
        decoder = self._decoders.get(hint)
        if decoder is None:
            decoder = self._decoders[hint] = self._build_decoder(hint)
        return decoder

    def _build_decoder(self, hint: Any) -> Decoder:
        if hint is object or hint is Any:
            return self._decode_any
        origin = typing.get_origin(hint)
        if origin in (Union, types.UnionType):
            return self._union_decoder(hint)
        if origin is not None:
            return self._generic_decoder(origin, typing.get_args(hint))
        if hint is float:
            return _decode_float
        if hint in _PRIMITIVES:
            return functools.partial(_decode_primitive, hint)
        if isinstance(hint, type) and self._by_name.get(hint.__name__) is hint:
            return functools.partial(self._decode_registered, hint)
        raise CodecError(f"unsupported type {hint!r}")

    def _union_decoder(self, hint: Any) -> Decoder:
        options = typing.get_args(hint)
        others = [option for option in options if option is not type(None)]
        if len(others) == 1 and len(options) == 2:  # Optional[X]: no trial and error
            other = self._decoder(others[0])
            return lambda data: None if data is None else other(data)
        decoders = [self._decoder(option) for option in options]

        def decode_union(data: JSON) -> Any:
            for decoder in decoders:
                try:
                    return decoder(data)
                except CodecError:
                    continue
            raise CodecError(f"{_short(data)} fits none of {hint}")

        return decode_union

    def _generic_decoder(self, origin: Any, args: tuple[Any, ...]) -> Decoder:
        if origin is list:
            item = self._decoder(args[0] if args else object)

            def decode_list(data: JSON) -> list[Any]:
                if not isinstance(data, list):
                    raise CodecError(f"expected a list, got {_short(data)}")
                return [item(value) for value in data]

            return decode_list
        tag = _TAGS.get(origin)
        if tag is None:
            raise CodecError(f"unsupported type {origin!r}")
        if origin is dict:
            key, value = (self._decoder(a) for a in (args or (object, object)))
            return lambda data: {
                key(k): value(v) for k, v in (_pair(pair) for pair in _tagged(data, tag))
            }
        if origin is frozenset:
            member = self._decoder(args[0] if args else object)
            return lambda data: frozenset(member(item) for item in _tagged(data, tag))
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            element = self._decoder(args[0] if args else object)
            return lambda data: tuple(element(item) for item in _tagged(data, tag))
        decoders = [self._decoder(arg) for arg in args]

        def decode_fixed_tuple(data: JSON) -> tuple[Any, ...]:
            items = _tagged(data, tag)
            if len(decoders) != len(items):
                raise CodecError(f"expected {len(decoders)} items, got {len(items)}")
            return tuple(decode(item) for decode, item in zip(decoders, items, strict=True))

        return decode_fixed_tuple

    def _decode_registered(self, cls: type, data: JSON) -> Any:
        value = self._decode_any(data)
        if type(value) is not cls:
            raise CodecError(f"expected {cls.__name__}, got {type(value).__name__}")
        return value

    def _decode_any(self, data: JSON) -> Any:
        """Decode by the data's own tags (for ``object`` fields and the top level)."""
        if isinstance(data, list):
            return [self._decode_any(item) for item in data]
        if not isinstance(data, dict):
            if isinstance(data, (*_PRIMITIVES, float)):
                return data
            raise CodecError(f"unexpected {_short(data)}")
        tag = data.get("$")
        if tag == "float":
            return _decode_float(data)
        if tag in _CONTAINERS:
            return self._untyped[tag](data)
        cls = self._by_name.get(tag) if isinstance(tag, str) else None
        if cls is None or len(data) != 2 or "v" not in data:
            raise CodecError(f"unknown tag {_short(tag)}")
        if issubclass(cls, enum.Enum):
            try:
                return cls(data["v"])
            except ValueError as error:
                raise CodecError(str(error)) from None
        fields = data["v"]
        decoders = self._fields(cls)
        if not isinstance(fields, dict) or fields.keys() != decoders.keys():
            raise CodecError(f"{cls.__name__}: stored fields do not match the class")
        return cls(**{name: decode(fields[name]) for name, decode in decoders.items()})

    def _fields(self, cls: type) -> dict[str, Decoder]:
        decoders = self._field_decoders.get(cls)
        if decoders is None:
            hints = self._hints[cls]
            decoders = self._field_decoders[cls] = {n: self._decoder(h) for n, h in hints.items()}
        return decoders

    def __contains__(self, cls: type) -> bool:
        return self._by_name.get(cls.__name__) is cls


_SPECIAL = ("inf", "-inf", "nan")
_CONTAINERS: dict[str, type] = {"tuple": tuple, "frozenset": frozenset, "dict": dict}
_TAGS: dict[type, str] = {cls: tag for tag, cls in _CONTAINERS.items()}
Decoder = Callable[[JSON], Any]


def _decode_float(data: JSON) -> float:
    if isinstance(data, dict) and data.get("$") == "float" and data.get("v") in _SPECIAL:
        return float(data["v"])
    if type(data) in (int, float):
        return float(data)
    raise CodecError(f"expected a float, got {_short(data)}")


def _decode_primitive(hint: type, data: JSON) -> Any:
    if type(data) is not hint:
        raise CodecError(f"expected {hint.__name__}, got {_short(data)}")
    return data


def _tagged(data: JSON, tag: str) -> list[JSON]:
    if not (isinstance(data, dict) and data.get("$") == tag and isinstance(data.get("v"), list)):
        raise CodecError(f"expected a {tag}, got {_short(data)}")
    if set(data) != {"$", "v"}:
        raise CodecError(f"unexpected keys in a {tag}")
    return data["v"]


def _pair(data: JSON) -> tuple[JSON, JSON]:
    if not (isinstance(data, list) and len(data) == 2):
        raise CodecError(f"expected a [key, value] pair, got {_short(data)}")
    return data[0], data[1]


def _classes(hint: Any) -> list[type]:
    """The dataclasses and enums a type hint names, at any depth."""
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, enum.Enum)):
        return [hint]
    return [cls for arg in typing.get_args(hint) for cls in _classes(arg)]


def _short(data: object) -> str:
    text = repr(data)
    return text if len(text) <= 60 else text[:57] + "..."
