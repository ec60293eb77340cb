"""Config records: dataclasses, attrs classes and NamedTuples that model code reads settings from.

``@dataclass class Config: act: str = "relu"`` then ``ACTS[cfg.act]()`` chooses the activation
from a field. Such a class builds no module: an instance is its fields' values (a
:class:`~.values.RecordVal`), given by the constructor's arguments in field order or by the
defaults written in the class body. What the class computes itself (``__post_init__``, a
custom ``__init__``) is not followed: a class with its own ``__init__`` is no record.

A *settings class* is the hand-written form of the same thing: ``class Config:`` with an
``__init__`` that only stores values on ``self`` (``self.act = act``), and no method that
could change them later. Its instance is a record too, of the attributes its ``__init__``
sets, run with the constructor's arguments (see ``Calls.instantiate``).
"""

from __future__ import annotations

import re

import libcst as cst

from .common import child_nodes
from .imports import ImportMap, dotted_name

#: Decorators that generate ``__init__`` from the annotated fields, as resolved names.
_RECORD_DECORATORS = frozenset(
    {
        "dataclasses.dataclass",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attrs.define",
        "attrs.frozen",
    }
)
_NAMED_TUPLES = frozenset({"typing.NamedTuple"})
#: Calls that stand for a field's default in the class body: their ``default=`` is the value.
_FIELD_CALLS = frozenset({"dataclasses.field", "attr.ib", "attr.attrib", "attrs.field"})

Fields = tuple[tuple[str, cst.BaseExpression | None], ...]


def record_fields(node: cst.ClassDef, imports: ImportMap, source: str) -> Fields | None:
    """The fields of a record class, in order, with their default's expression; None when the
    class is no record (or defines its own ``__init__``). ``source``: the file's text, where
    a plain namespace's values may be reassigned (``Args.act = sys.argv[1]``)."""
    plain = _plain_namespace(node) and not _reassigned(node.name.value, source)
    if not (plain or _decorated(node, imports) or _named_tuple(node, imports)):
        return None
    fields: list[tuple[str, cst.BaseExpression | None]] = []
    for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
            return None
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and plain and len(small.targets) == 1:
                target = small.targets[0].target  # class Args: act = "relu"
                if isinstance(target, cst.Name):
                    fields.append((target.value, small.value))
                continue
            if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
                continue
            if "ClassVar" in (dotted_name(_outer(small.annotation.annotation)) or ""):
                continue  # a class constant, not a field
            fields.append((small.target.value, _default(small.value, imports)))
    return tuple(fields)


def settings_class(node: cst.ClassDef, records: frozenset[str] = frozenset()) -> bool:
    """``class Config: def __init__(self, act="relu"): self.act = act``: no base but
    ``object`` or a record class of the file (``records``: its ``super().__init__(...)`` sets
    the record's fields), no decorator, an ``__init__`` that only binds names and ``self``'s
    attributes (in branches too) and builds no object of a class (``self.net = Net()`` makes
    a holder of modules, not settings), and no method of an instance besides dunders,
    properties and static or class methods."""
    if node.decorators or any(dotted_name(b.value) not in {"object", *records} for b in node.bases):
        return False
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    init = None
    for statement in body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        name = statement.name.value
        if name == "__init__":
            init = statement
        elif not (name.startswith("__") or _not_an_instance_method(statement)):
            return False  # cfg.update(...) could change what __init__ set
    return init is not None and _only_stores(init.body) and not _builds_objects(init)


def _builds_objects(function: cst.FunctionDef) -> bool:
    """Whether a function calls something named like a class (``Net()``, ``nn.Linear(...)``)."""
    pending: list[cst.CSTNode] = [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Call):
            name = dotted_name(node.func) or ""
            if name.rsplit(".", 1)[-1][:1].isupper():
                return True
        pending.extend(child_nodes(node))
    return False


def _not_an_instance_method(function: cst.FunctionDef) -> bool:
    names = {dotted_name(d.decorator) for d in function.decorators}
    return bool(names & {"property", "staticmethod", "classmethod"})


def _only_stores(suite: cst.BaseSuite) -> bool:
    """Statements that bind names or ``self.name``, check, or raise; ``if`` blocks of them."""
    statements = suite.body if isinstance(suite, cst.IndentedBlock) else (suite,)
    for statement in statements:
        if isinstance(statement, cst.If):
            branch: cst.If | cst.Else | None = statement
            while isinstance(branch, cst.If):  # if / elif / ... / else
                if not _only_stores(branch.body):
                    return False
                branch = branch.orelse
            if branch is not None and not _only_stores(branch.body):
                return False
            continue
        small_statements = getattr(statement, "body", ())
        if isinstance(statement, cst.BaseCompoundStatement) or not all(
            _stores(small) for small in small_statements
        ):
            return False
    return True


def _stores(small: cst.CSTNode) -> bool:
    if isinstance(small, (cst.Pass, cst.Raise, cst.Assert)):
        return True
    if isinstance(small, cst.Expr):  # a docstring, or super().__init__() of object
        value = small.value
        if isinstance(value, cst.SimpleString):
            return True
        func = value.func if isinstance(value, cst.Call) else None
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "__init__"
            and isinstance(func.value, cst.Call)
            and dotted_name(func.value.func) == "super"
        )
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        targets = [small.target]
    else:
        return False
    return all(
        isinstance(t, cst.Name)
        or (
            isinstance(t, cst.Attribute)
            and isinstance(t.value, cst.Name)
            and t.value.value == "self"
        )
        for t in targets
    )


def _reassigned(name: str, source: str) -> bool:
    """Whether the file writes an attribute of the class (``Args.act = ...``, ``+=``)."""
    return (
        re.search(rf"\b{re.escape(name)}\.\w+\s*(?:[-+*/%@&|^]|//|\*\*)?=(?!=)", source) is not None
    )


def _plain_namespace(node: cst.ClassDef) -> bool:
    """``class Args: lr = 1e-3; act = "relu"``: no base, no decorator, nothing but names
    bound to values (a script's settings, read as ``Args.act`` or ``Args().act``)."""
    if node.decorators or any(dotted_name(b.value) != "object" for b in node.bases):
        return False
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    bound = False
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                bound = True
            elif not (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)):
                return False  # only a docstring besides the names
    return bound


def _decorated(node: cst.ClassDef, imports: ImportMap) -> bool:
    for decorator in node.decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        if imports.resolve(expression) in _RECORD_DECORATORS:
            return True
    return False


def _named_tuple(node: cst.ClassDef, imports: ImportMap) -> bool:
    return any(imports.resolve(base.value) in _NAMED_TUPLES for base in node.bases)


def _outer(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """``ClassVar`` of ``ClassVar[int]``."""
    return annotation.value if isinstance(annotation, cst.Subscript) else annotation


def _default(value: cst.BaseExpression | None, imports: ImportMap) -> cst.BaseExpression | None:
    """A field's default expression: ``x = 1`` → ``1``; ``field(default=1)`` → ``1``;
    ``field(default_factory=list)`` or no default → None."""
    if value is None:
        return None
    if isinstance(value, cst.Call) and imports.resolve(value.func) in _FIELD_CALLS:
        for argument in value.args:
            if argument.keyword is not None and argument.keyword.value == "default":
                return argument.value
        return None
    return value
