"""Turn a Python function's type hints and docstring into a JSON schema for its parameters.

One walk over each type hint produces three things together, so they can never disagree:

* the JSON schema sent to the model;
* a predicate telling whether a JSON value fits the type (used to pick a ``Union`` member);
* a converter from the JSON value to the declared Python type (``Enum`` members, dataclass
  instances, tuples, sets...), or ``None`` when the JSON value is already the right thing.

Nested dataclasses and TypedDicts are inlined. Only a class that refers to itself (directly or
through other classes) is put under ``$defs`` and referenced with ``$ref``, because inline
schemas are what models read best but recursion cannot be inlined.

Everything that cannot be described raises ``TypeError`` naming the function and parameter, so
mistakes surface when the tool is defined rather than when a model first calls it.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import functools
import inspect
import json
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aclarifai._constraints import read_metadata
from aclarifai._docstring import parse_docstring

__all__ = [
    "BadArgument",
    "FunctionSchema",
    "ObjectField",
    "build_function_schema",
    "find_context_params",
]

JSONSchema = dict[str, Any]
Converter = Callable[[Any], Any]
Predicate = Callable[[Any], bool]


class _NoDefault:
    """Marks a parameter or field without a default (``None`` is a legitimate default)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()

_JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
}
_SEQUENCES: dict[Any, type] = {list: list, cabc.Sequence: list, cabc.MutableSequence: list}
_SETS: dict[Any, type] = {
    set: set,
    frozenset: frozenset,
    cabc.Set: frozenset,
    cabc.MutableSet: set,
}
_MAPPINGS = (dict, cabc.Mapping, cabc.MutableMapping)
# TypedDict key qualifiers; matched by name so typing_extensions' versions work too.
_QUALIFIERS = {"Required", "NotRequired", "ReadOnly"}


class BadArgument(Exception):
    """A value that passed the schema but cannot become the declared Python type.

    ``10**400`` is a JSON number, but no ``float``; a dataclass's ``__post_init__`` may refuse a
    value. ``path`` is filled in on the way out, innermost key or index last.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []


@dataclass(frozen=True)
class _Node:
    schema: JSONSchema
    accepts: Predicate
    convert: Converter | None = None


@dataclass(frozen=True)
class ObjectField:
    """One property of an object schema: a parameter, a dataclass field or a TypedDict key."""

    name: str
    node: _Node
    required: bool
    default: Any = NO_DEFAULT
    description: str | None = None
    # Strict mode makes optional properties required-but-nullable; for these, a null from the
    # model means "use the Python default" and the key is dropped before the call.
    null_means_default: bool = False


@dataclass(frozen=True)
class FunctionSchema:
    """The parameters schema of a function plus what is needed to call it from JSON."""

    description: str
    parameters: JSONSchema
    fields: Mapping[str, ObjectField]
    context_params: tuple[str, ...]

    def convert_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Turn validated JSON arguments into keyword arguments of the declared types."""
        return convert_fields(self.fields, arguments)


def build_function_schema(
    function: Callable[..., Any], *, strict: bool, context_type: type
) -> FunctionSchema:
    """Describe ``function``'s parameters; parameters annotated ``context_type`` are skipped."""
    label = f"{_callable_name(function)}()"
    signature = _signature(function, label)
    hints = _type_hints(function, label)
    doc = parse_docstring(inspect.getdoc(_unpartial(function)))
    builder = _Builder(label, strict, _globals_of(function))
    fields: list[ObjectField] = []
    context: list[str] = []
    for param in signature.parameters.values():
        _check_param(param, hints, label)
        if _is_context(hints[param.name], context_type):
            context.append(param.name)
            continue
        builder.param = param.name
        default = NO_DEFAULT if param.default is param.empty else param.default
        fields.append(
            builder.field(
                param.name,
                hints[param.name],
                required=default is NO_DEFAULT,
                default=default,
                description=doc.params.get(param.name),
                path=param.name,
            )
        )
    parameters = builder.object_schema(fields)
    if builder.defs:
        parameters["$defs"] = builder.defs
    if strict:
        parameters = strict_refs(parameters)
    return FunctionSchema(
        description=doc.summary,
        parameters=parameters,
        fields={f.name: f for f in fields},
        context_params=tuple(context),
    )


def find_context_params(function: Callable[..., Any], context_type: type) -> tuple[str, ...]:
    """Names of the parameters annotated ``context_type``; ``()`` when hints are unreadable."""
    try:
        signature = inspect.signature(function)
        hints = _type_hints(function, "")
    except Exception:  # a raw Tool's callable may be anything; injection is best effort
        return ()
    return tuple(
        name for name in signature.parameters if name in hints and _is_context(hints[name], context_type)
    )


def convert_fields(fields: Mapping[str, ObjectField], value: Mapping[str, Any]) -> dict[str, Any]:
    """Convert each value of a JSON object with the converter of its field."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            out[key] = item
        elif item is None and spec.null_means_default:
            continue
        elif spec.node.convert is None:
            out[key] = item
        else:
            try:
                out[key] = spec.node.convert(item)
            except BadArgument as exc:
                exc.path.insert(0, key)
                raise
    return out


# -- introspection helpers ---------------------------------------------------------------------


def _callable_name(function: Callable[..., Any]) -> str:
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None)
    return str(name) if name else type(function).__qualname__


def _hints_target(function: Callable[..., Any]) -> Any:
    """What to hand to ``get_type_hints``: partials and callable objects need unwrapping."""
    function = _unpartial(function)
    if inspect.isfunction(function) or inspect.ismethod(function):
        return function
    call = type(function).__call__
    return call if inspect.isfunction(call) else function


def _unpartial(function: Callable[..., Any]) -> Callable[..., Any]:
    while isinstance(function, functools.partial):
        function = function.func
    return function


def _signature(function: Callable[..., Any], label: str) -> inspect.Signature:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label}: cannot read the signature: {exc}") from None


def _type_hints(function: Callable[..., Any], label: str) -> dict[str, Any]:
    target = _hints_target(function)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # NameError for an unresolvable string annotation, mostly
        pass
    # Resolve one annotation at a time: the return annotation (often a name imported only
    # under TYPE_CHECKING) is not needed, and a failure can name its parameter.
    try:
        annotations = dict(getattr(target, "__annotations__", None) or {})
    except Exception as exc:
        raise TypeError(f"{label}: cannot read the annotations: {exc!r}") from None
    annotations.pop("return", None)
    globalns = _globals_of(function)
    hints: dict[str, Any] = {}
    for name, annotation in annotations.items():
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints.update(typing.get_type_hints(holder, globalns, include_extras=True))
        except Exception as exc:
            raise TypeError(
                f"{label}: parameter {name!r}: cannot resolve the type hint {annotation!r}: {exc!r}"
            ) from None
    return hints


def _globals_of(function: Callable[..., Any]) -> dict[str, Any]:
    namespace = getattr(inspect.unwrap(_hints_target(function)), "__globals__", None)
    return namespace if isinstance(namespace, dict) else {}


def _check_param(param: inspect.Parameter, hints: Mapping[str, Any], label: str) -> None:
    problems = {
        param.VAR_POSITIONAL: "*args cannot be described to the model; take a list[T] parameter instead",
        param.VAR_KEYWORD: (
            "**kwargs cannot be described to the model; take a dict[str, T] parameter, or a "
            "TypedDict or dataclass with the keys you expect"
        ),
        param.POSITIONAL_ONLY: (
            "positional-only parameters cannot be passed by name, which is how a model's "
            "arguments arrive; remove the '/' from the signature"
        ),
    }
    if param.kind in problems:
        raise TypeError(f"{label}: parameter {param.name!r}: {problems[param.kind]}")
    if param.name not in hints:
        hint = " (make a tool of the bound method instead)" if param.name == "self" else ""
        raise TypeError(
            f"{label}: parameter {param.name!r} has no type annotation; "
            f"tools need one on every parameter to describe it to the model{hint}"
        )


def _strip_annotated(hint: Any) -> Any:
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _is_context(hint: Any, context_type: type) -> bool:
    """``X``, ``X | None``, ``Optional[X]`` and ``Annotated[X, ...]`` all mean "inject X"."""
    hint = _strip_annotated(hint)
    if _is_union(hint):
        members = [_strip_annotated(a) for a in typing.get_args(hint) if a is not type(None)]
        return members == [context_type]
    return hint is context_type


def _is_typeddict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__required_keys__")


def _type_name(hint: Any) -> str:
    return hint.__qualname__ if isinstance(hint, type) else repr(hint)


def _unalias(hint: Any) -> Any:
    """See through ``NewType`` and ``type X = ...`` aliases (Python 3.12+)."""
    while True:
        if isinstance(hint, typing.NewType):
            hint = hint.__supertype__
        elif type(hint).__name__ == "TypeAliasType":
            hint = hint.__value__
        else:
            return hint


def _key_required(hint: Any, default: bool) -> bool:
    """A TypedDict key's ``Required``/``NotRequired`` qualifier, else ``default``.

    Read from the resolved hint because ``__required_keys__`` cannot see a qualifier written in
    a string annotation (``from __future__ import annotations``), and gets it wrong then.
    """
    while True:
        origin = typing.get_origin(hint)
        name = getattr(origin, "_name", None)
        if name == "Required":
            return True
        if name == "NotRequired":
            return False
        if origin is typing.Annotated or name in _QUALIFIERS:  # ReadOnly[NotRequired[...]]
            hint = typing.get_args(hint)[0]
        else:
            return default


def _unhashable(hint: Any) -> bool:
    """Whether values of ``hint`` can never go in a set (lists, dicts, mutable dataclasses...)."""
    hint = _unalias(_strip_annotated(hint))
    if _is_union(hint):
        return any(_unhashable(arg) for arg in typing.get_args(hint))
    kind = typing.get_origin(hint) or hint
    if kind in _SEQUENCES or kind in _MAPPINGS or kind in (set, cabc.MutableSet) or _is_typeddict(hint):
        return True
    return isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint.__hash__ is None


def _replacement(hint: Any) -> str:
    """What to write instead of a type that cannot be a tool parameter."""
    import datetime
    import decimal
    import uuid

    if isinstance(hint, type):
        if hasattr(hint, "model_json_schema") and hasattr(hint, "model_fields"):
            return (
                " (pydantic models are not read: aclarifai builds schemas from plain type hints "
                "and does not depend on pydantic; use a dataclass or a TypedDict with the same "
                "fields, and Annotated[..., Field(...)] constraints on them)"
            )
        if issubclass(hint, tuple) and hasattr(hint, "_fields"):
            return (
                " (a NamedTuple would reach the model as an array of unnamed items; use a "
                "dataclass, which becomes an object with named properties, or tuple[...])"
            )
        if issubclass(hint, (bytes, bytearray, memoryview)):
            return " (JSON has no bytes; take a str, e.g. base64 text, and decode it in the function)"
        if issubclass(hint, (datetime.date, datetime.time, datetime.timedelta)):
            return (
                " (JSON has no dates or times; take a str, say 'an ISO 8601 date' in its "
                "description, and parse it with fromisoformat() in the function)"
            )
        if issubclass(hint, (decimal.Decimal, uuid.UUID)):
            return " (take a str and convert it in the function)"
    return ""


def _convert_at(convert: Converter, value: Any, where: str | int) -> Any:
    try:
        return convert(value)
    except BadArgument as exc:
        exc.path.insert(0, where)
        raise


def _json_key(value: Any) -> Any:
    """A hashable key equal for JSON-equal values (1 and 1.0 alike, True and 1 apart)."""
    if isinstance(value, bool) or value is None:
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, list):
        return (3, tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return (4, frozenset((k, _json_key(v)) for k, v in value.items()))
    return (5, id(value))


def _json_unique(values: list[Any]) -> bool:
    """``uniqueItems`` as JSON Schema (and jsonschema) means it."""
    return len({_json_key(v) for v in values}) == len(values)


def strict_refs(schema: Any) -> Any:
    """Move each ``$ref`` that has siblings into a one-member ``anyOf``.

    OpenAI's strict mode rejects ``{"$ref": ..., "description": ...}``; ``{"anyOf": [{"$ref":
    ...}], "description": ...}`` says the same and is accepted.
    """
    if isinstance(schema, list):
        return [strict_refs(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: strict_refs(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "examples"):  # values, not schemas
            out[key] = value
        else:
            out[key] = strict_refs(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["anyOf"] = [{"$ref": ref}]
    return out


# -- JSON helpers -------------------------------------------------------------------------------


def _json_equal(a: Any, b: Any) -> bool:
    # In Python True == 1, but a JSON boolean is never a JSON number.
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def _enum_schema(values: list[Any]) -> JSONSchema:
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop(), "enum": values}
    return {"enum": values}


def _jsonable(value: Any) -> Any:
    """The JSON form of a default value, or ``NO_DEFAULT`` when it has none."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return NO_DEFAULT if any(v is NO_DEFAULT for v in items) else items
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return NO_DEFAULT
        entries = {k: _jsonable(v) for k, v in value.items()}
        return NO_DEFAULT if any(v is NO_DEFAULT for v in entries.values()) else entries
    if value is None or type(value) in _JSON_TYPES:
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:  # NaN and infinities have no JSON form
            return NO_DEFAULT
        return value
    return NO_DEFAULT


def _nullable(schema: JSONSchema) -> JSONSchema:
    """``schema`` or null, keeping the description on the outside."""
    inner = {k: v for k, v in schema.items() if k != "description"}
    members = inner["anyOf"] if set(inner) == {"anyOf"} else [inner]
    out: JSONSchema = {"anyOf": [*members, {"type": "null"}]}
    if "description" in schema:
        out["description"] = schema["description"]
    return out


def _always(value: Any) -> bool:
    return True


def _to_int(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer; the function asked for an int.
    return int(value) if isinstance(value, float) else value


def _to_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # a JSON number, but beyond any float
            raise BadArgument(f"{_short(value)} is too large for a float") from None
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} digits)"


def _is_int(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _primitive(hint: Any) -> _Node | None:
    if hint is str:
        return _Node({"type": "string"}, lambda v: isinstance(v, str))
    if hint is bool:
        return _Node({"type": "boolean"}, lambda v: isinstance(v, bool))
    if hint is int:
        return _Node({"type": "integer"}, _is_int, _to_int)
    if hint is float:
        return _Node({"type": "number"}, _is_number, _to_float)
    if hint is None or hint is type(None):
        return _Node({"type": "null"}, lambda v: v is None)
    if hint is Any:
        return _Node({}, _always)
    return None


# -- the walk -----------------------------------------------------------------------------------


class _Builder:
    """Walks type hints for one function; collects ``$defs`` for recursive classes."""

    def __init__(self, label: str, strict: bool, globalns: dict[str, Any]) -> None:
        self.label = label
        self.strict = strict
        self.globalns = globalns
        self.param = ""
        self.defs: dict[str, JSONSchema] = {}
        self._stack: list[type] = []
        self._def_names: dict[type, str] = {}
        self._finished: dict[type, _Node] = {}

    def error(self, path: str, message: str) -> TypeError:
        where = f" (at {path})" if path != self.param else ""
        return TypeError(f"{self.label}: parameter {self.param!r}: {message}{where}")

    def field(
        self,
        name: str,
        hint: Any,
        *,
        required: bool,
        default: Any,
        description: str | None,
        path: str,
    ) -> ObjectField:
        node = self.node(hint, path)
        return ObjectField(
            name=name,
            node=node,
            required=required,
            default=default,
            description=description,
            null_means_default=self.strict and not required and not node.accepts(None),
        )

    def object_schema(self, fields: list[ObjectField]) -> JSONSchema:
        properties = {f.name: self._property(f) for f in fields}
        # Strict mode wants every property listed; optional ones were made nullable instead.
        required = [f.name for f in fields if f.required or self.strict]
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def _property(self, spec: ObjectField) -> JSONSchema:
        schema = dict(spec.node.schema)
        if spec.description and "description" not in schema:  # Annotated's text wins
            schema["description"] = spec.description
        if spec.null_means_default:
            schema = _nullable(schema)
        elif not self.strict and spec.default is not NO_DEFAULT:
            default = _jsonable(spec.default)
            if default is not NO_DEFAULT:
                schema["default"] = default
        return schema

    def node(self, hint: Any, path: str) -> _Node:
        hint = _unalias(hint)
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            return self._annotated(hint, path)
        if getattr(origin, "_name", None) in _QUALIFIERS:
            return self.node(typing.get_args(hint)[0], path)
        primitive = _primitive(hint)
        if primitive is not None:
            return primitive
        if _is_union(hint):
            return self._union(typing.get_args(hint), path)
        if origin is typing.Literal:
            return self._literal(typing.get_args(hint), path)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self._enum(hint, path)
        if (isinstance(hint, type) and dataclasses.is_dataclass(hint)) or _is_typeddict(hint):
            return self._class_object(hint, path)
        container = self._container(hint, origin, path)
        if container is not None:
            return container
        if isinstance(hint, (str, typing.ForwardRef)):
            return self.node(self._resolve(hint, path), path)
        raise self.error(path, f"unsupported type {_type_name(hint)}{_replacement(hint)}")

    def _resolve(self, hint: str | typing.ForwardRef, path: str) -> Any:
        """Evaluate a forward reference left inside a hint, e.g. ``list["Node"]`` on 3.10."""
        text = hint.__forward_arg__ if isinstance(hint, typing.ForwardRef) else hint
        modules = (sys.modules.get(cls.__module__) for cls in reversed(self._stack))
        namespaces = [vars(m) for m in modules if m is not None] + [self.globalns]
        for namespace in namespaces:
            holder = types.SimpleNamespace(__annotations__={"hint": text})
            try:
                resolved = typing.get_type_hints(holder, namespace, include_extras=True)["hint"]
            except Exception:
                continue
            if not isinstance(resolved, (str, typing.ForwardRef)):
                return resolved
        raise self.error(path, f"unresolved forward reference {text!r}")

    def _annotated(self, hint: Any, path: str) -> _Node:
        base, *items = typing.get_args(hint)
        node = self.node(base, path)
        try:
            metadata = read_metadata(items)
            schema, accepts = metadata.apply(node.schema, node.accepts)
        except ValueError as exc:
            raise self.error(path, str(exc)) from None
        if metadata.description is None and not metadata.annotations and schema is node.schema:
            return node
        schema = {**schema, **metadata.annotations}
        if metadata.description is not None:
            schema["description"] = metadata.description
        return _Node(schema, accepts, node.convert)

    def _union(self, args: tuple[Any, ...], path: str) -> _Node:
        members = [self.node(arg, path) for arg in args]
        any_of: list[JSONSchema] = []
        for member in members:
            nested = set(member.schema) == {"anyOf"}
            any_of.extend(member.schema["anyOf"] if nested else [member.schema])

        def accepts(value: Any) -> bool:
            return any(m.accepts(value) for m in members)

        def convert(value: Any) -> Any:
            # The first member that fits decides, like isinstance checks in declared order.
            for member in members:
                if member.accepts(value):
                    return member.convert(value) if member.convert else value
            return value

        needs_convert = any(m.convert for m in members)
        return _Node({"anyOf": any_of}, accepts, convert if needs_convert else None)

    def _literal(self, args: tuple[Any, ...], path: str) -> _Node:
        pairs: list[tuple[Any, Any]] = []  # (JSON value, Python value)
        for arg in args:
            value = arg.value if isinstance(arg, enum.Enum) else arg
            if value is not None and type(value) not in _JSON_TYPES:
                raise self.error(path, f"Literal value {arg!r} is not a JSON scalar")
            pairs.append((value, arg))

        def accepts(value: Any) -> bool:
            return any(_json_equal(value, j) for j, _ in pairs)

        def convert(value: Any) -> Any:
            # The declared value itself: an Enum member, or 2 (not the 2.0 JSON also calls 2).
            return next((p for j, p in pairs if _json_equal(value, j)), value)

        exact = all(type(j) is type(p) and type(j) in (str, bool, type(None)) for j, p in pairs)
        schema = _enum_schema([j for j, _ in pairs])
        return _Node(schema, accepts, None if exact else convert)

    def _enum(self, cls: type[enum.Enum], path: str) -> _Node:
        values = [member.value for member in cls]
        for value in values:
            if value is not None and type(value) not in _JSON_TYPES:
                raise self.error(path, f"{cls.__qualname__} value {value!r} is not a JSON scalar")

        def accepts(value: Any) -> bool:
            return any(_json_equal(value, v) for v in values)

        members = list(cls)

        def convert(value: Any) -> Any:
            return next((m for m in members if _json_equal(value, m.value)), value)

        return _Node(_enum_schema(values), accepts, convert)

    def _container(self, hint: Any, origin: Any, path: str) -> _Node | None:
        kind = origin if origin is not None else hint
        args = typing.get_args(hint)
        if not isinstance(kind, type):
            return None
        if kind is tuple:
            bare = hint is tuple or hint is typing.Tuple  # noqa: UP006 - the bare alias
            return _array(None, tuple) if bare else self._tuple(args, path)
        if kind in _SEQUENCES or kind in _SETS:
            item = self.node(args[0], f"{path}[]") if args else None
            if kind in _SETS and args and _unhashable(args[0]):
                raise self.error(
                    path, f"set items must be hashable, and {_type_name(args[0])} is not; use a list"
                )
            return _array(item, _SEQUENCES.get(kind) or _SETS[kind])
        if kind in _MAPPINGS:
            return self._mapping(args, path)
        return None

    def _tuple(self, args: tuple[Any, ...], path: str) -> _Node:
        if len(args) == 2 and args[1] is Ellipsis:
            return _array(self.node(args[0], f"{path}[]"), tuple)
        if args == ((),):  # Tuple[()] on Python 3.10
            args = ()
        items = [self.node(arg, f"{path}[{i}]") for i, arg in enumerate(args)]

        def accepts(value: Any) -> bool:
            return (
                isinstance(value, list)
                and len(value) == len(items)
                and all(n.accepts(v) for n, v in zip(items, value, strict=True))
            )

        def convert(value: Any) -> Any:
            if not isinstance(value, list):
                return value
            out = []
            for i, (n, v) in enumerate(zip(items, value, strict=False)):
                out.append(_convert_at(n.convert, v, i) if n.convert else v)
            return tuple(out)

        schema: JSONSchema = {"type": "array"}
        if items:  # the metaschema wants a non-empty prefixItems; tuple[()] is just maxItems 0
            schema.update(prefixItems=[n.schema for n in items], minItems=len(items))
        schema["maxItems"] = len(items)
        return _Node(schema, accepts, convert)

    def _mapping(self, args: tuple[Any, ...], path: str) -> _Node:
        if self.strict:
            raise self.error(
                path,
                "a free-form dict/Mapping cannot be described in strict mode, where every "
                "object needs fixed properties; use a TypedDict or a dataclass, or strict=False",
            )
        if not args:
            return _Node({"type": "object"}, lambda v: isinstance(v, dict))
        if _strip_annotated(args[0]) is not str:
            raise self.error(path, f"dict keys must be str (JSON keys), not {args[0]!r}")
        values = self.node(args[1], f"{path}[]")

        def accepts(value: Any) -> bool:
            return isinstance(value, dict) and all(values.accepts(v) for v in value.values())

        def convert(value: Any) -> Any:
            if not isinstance(value, dict) or values.convert is None:
                return value
            return {k: _convert_at(values.convert, v, k) for k, v in value.items()}

        schema = {"type": "object", "additionalProperties": values.schema}
        return _Node(schema, accepts, convert if values.convert else None)

    # -- dataclasses and TypedDicts, with recursion through $defs ----------------------------

    def _class_object(self, cls: type, path: str) -> _Node:
        if cls in self._stack or cls in self._finished:
            return self._ref(cls)
        self._stack.append(cls)
        try:
            if dataclasses.is_dataclass(cls):
                node = self._dataclass(cls, path)
            else:
                node = self._typeddict(cls, path)
        finally:
            self._stack.pop()
        if cls not in self._def_names:  # nothing inside referred back to it: inline
            return node
        self.defs[self._def_names[cls]] = node.schema
        self._finished[cls] = node
        return self._ref(cls)

    def _ref(self, cls: type) -> _Node:
        if cls not in self._def_names:
            name = cls.__name__
            taken = set(self._def_names.values())
            suffix = 2
            while name in taken:
                name, suffix = f"{cls.__name__}_{suffix}", suffix + 1
            self._def_names[cls] = name
        # The target may still be under construction, so look it up only when used.
        finished = self._finished

        def accepts(value: Any) -> bool:
            return isinstance(value, dict) and finished[cls].accepts(value)

        def convert(value: Any) -> Any:
            target = finished[cls].convert
            return target(value) if target else value

        return _Node({"$ref": f"#/$defs/{self._def_names[cls]}"}, accepts, convert)

    def _class_hints(self, cls: type, path: str) -> dict[str, Any]:
        try:
            return typing.get_type_hints(cls, include_extras=True)
        except Exception:
            pass
        # A class whose module is not in sys.modules (code run with exec(), for instance)
        # resolves its string annotations nowhere; try where the tool function lives.
        try:
            return typing.get_type_hints(cls, localns=self.globalns, include_extras=True)
        except Exception as exc:
            raise self.error(path, f"cannot resolve the type hints of {cls.__qualname__}: {exc!r}") from None

    def _dataclass(self, cls: type, path: str) -> _Node:
        hints = self._class_hints(cls, path)
        doc = parse_docstring(cls.__doc__)
        fields: list[ObjectField] = []
        for spec in dataclasses.fields(cls):
            if not spec.init:
                continue
            has_default = (
                spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING
            )
            default = NO_DEFAULT if spec.default is dataclasses.MISSING else spec.default
            fields.append(
                self.field(
                    spec.name,
                    hints[spec.name],
                    required=not has_default,
                    default=default,
                    description=doc.params.get(spec.name),
                    path=f"{path} -> {cls.__qualname__}.{spec.name}",
                )
            )
        by_name = {f.name: f for f in fields}

        def convert(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            kwargs = convert_fields(by_name, value)
            try:
                return cls(**kwargs)
            except (TypeError, ValueError) as exc:  # e.g. a __post_init__ that refuses the value
                raise BadArgument(f"{cls.__qualname__}(...) refused it: {exc}") from exc

        return _Node(self.object_schema(fields), _object_accepts(fields, self.strict), convert)

    def _typeddict(self, cls: type, path: str) -> _Node:
        hints = self._class_hints(cls, path)
        required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        doc = parse_docstring(cls.__doc__)
        fields = [
            self.field(
                key,
                hint,
                required=_key_required(hint, key in required_keys),
                default=NO_DEFAULT,
                description=doc.params.get(key),
                path=f"{path} -> {cls.__qualname__}.{key}",
            )
            for key, hint in hints.items()
        ]
        by_name = {f.name: f for f in fields}

        def convert(value: Any) -> Any:
            # A TypedDict stays a dict; only its values are converted.
            return convert_fields(by_name, value) if isinstance(value, dict) else value

        needs_convert = any(f.node.convert or f.null_means_default for f in fields)
        accepts = _object_accepts(fields, self.strict)
        return _Node(self.object_schema(fields), accepts, convert if needs_convert else None)


def _array(item: _Node | None, build: type) -> _Node:
    """An array node whose Python value is built with ``build`` (list, tuple, set...)."""
    schema: JSONSchema = {"type": "array"}
    if item is not None:
        schema["items"] = item.schema
    if build in (set, frozenset):
        schema["uniqueItems"] = True

    unique = build in (set, frozenset)

    def accepts(value: Any) -> bool:
        return (
            isinstance(value, list)
            and (item is None or all(item.accepts(v) for v in value))
            and (not unique or _json_unique(value))
        )

    def convert(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        if item is None or item.convert is None:
            items = value
        else:
            items = [_convert_at(item.convert, v, i) for i, v in enumerate(value)]
        try:
            return build(items)
        except TypeError as exc:  # set items that are not hashable, e.g. lists inside set[Any]
            raise BadArgument(f"cannot be a {build.__name__}: {exc}") from None

    needs_convert = build is not list or (item is not None and item.convert is not None)
    return _Node(schema, accepts, convert if needs_convert else None)


def _object_accepts(fields: list[ObjectField], strict: bool) -> Predicate:
    by_name = {f.name: f for f in fields}
    needed = [f.name for f in fields if f.required or strict]

    def accepts(value: Any) -> bool:
        if not isinstance(value, dict) or any(name not in value for name in needed):
            return False
        for key, item in value.items():
            spec = by_name.get(key)
            if spec is None:
                return False
            if not (item is None and spec.null_means_default) and not spec.node.accepts(item):
                return False
        return True

    return accepts
