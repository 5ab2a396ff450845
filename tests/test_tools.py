"""Tests for aclarifai.tools: schema generation, docstrings, validation and invocation."""

# String annotations on purpose: everything must go through typing.get_type_hints.
from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import inspect
import os
import subprocess
import sys
import threading
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    NewType,
    Optional,
    TypedDict,
    Union,
)

import pytest
from jsonschema import Draft202012Validator

from aclarifai._docstring import parse_docstring
from aclarifai.errors import ClarifaiError, ToolArgumentsError, ToolError
from aclarifai.tools import RunContext, Tool, tool

if TYPE_CHECKING:
    from decimal import Decimal  # only for a return annotation that cannot be resolved

ROOT = Path(__file__).resolve().parent.parent


# -- types used by the tools below (module level, so string annotations resolve) -----------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    ONE = 1
    TWO = "two"


class BadEnum(enum.Enum):
    A = (1, 2)


@dataclasses.dataclass
class Point:
    """A point on the plane.

    Attributes:
        x: Horizontal position.
        y: Vertical position.
    """

    x: int
    y: int = 0


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    color: Color = Color.RED
    tags: tuple[str, ...] = ()


@dataclasses.dataclass
class TreeNode:
    value: int
    children: list[TreeNode] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Employee:
    name: str
    team: Team | None = None


@dataclasses.dataclass
class Team:
    name: str
    lead: Employee


class Address(TypedDict):
    street: str
    city: str


class _PersonBase(TypedDict):
    name: str
    address: Address


class Person(_PersonBase, total=False):
    nickname: str
    favourite: Color


@dataclasses.dataclass
class WithPlain:
    callback: Plain


class Plain:
    """A class that is neither a dataclass nor a TypedDict."""


UserId = NewType("UserId", int)


@dataclasses.dataclass
class OtherTree:
    label: str
    children: list[OtherTree] = dataclasses.field(default_factory=list)


OtherTree.__name__ = "TreeNode"  # same name as the other recursive class: $defs must not clash


def schema_of(fn: Any, **kwargs: Any) -> dict[str, Any]:
    """The parameters schema of ``tool(fn)``, checked against the JSON Schema metaschema."""
    parameters = tool(fn, **kwargs).parameters
    Draft202012Validator.check_schema(parameters)
    return parameters


def prop(fn: Any, name: str = "x", **kwargs: Any) -> dict[str, Any]:
    return schema_of(fn, **kwargs)["properties"][name]


# -- the decorator and the Tool object ----------------------------------------------------------


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get the current temperature for a place.

    Args:
        location: City and country, e.g. "Tokyo, Japan".
        units: Temperature units.
    """
    return {"location": location, "units": units}


@tool(name="search_docs", timeout=5.0)
async def search(query: str, limit: int = 5) -> list[str]:
    """Search the documentation."""
    return [f"{query}-{i}" for i in range(limit)]


def test_decorator_builds_a_tool() -> None:
    assert isinstance(get_weather, Tool)
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Get the current temperature for a place."
    assert get_weather.timeout is None
    assert get_weather.strict is False
    assert get_weather.is_async is False
    assert search.name == "search_docs"
    assert search.timeout == 5.0
    assert search.is_async is True


def test_schema_is_the_openai_tool_entry() -> None:
    assert get_weather.schema == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current temperature for a place.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": 'City and country, e.g. "Tokyo, Japan".',
                    },
                    "units": {
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "description": "Temperature units.",
                        "default": "celsius",
                    },
                },
                "required": ["location"],
                "additionalProperties": False,
            },
        },
    }


async def test_decorated_functions_stay_callable() -> None:
    assert get_weather("Paris") == {"location": "Paris", "units": "celsius"}
    assert get_weather("Oslo", units="fahrenheit")["units"] == "fahrenheit"
    assert await search("x", limit=2) == ["x-0", "x-1"]


def test_decorated_tool_looks_like_the_function() -> None:
    assert get_weather.__name__ == "get_weather"
    assert get_weather.__doc__ is not None and "Args:" in get_weather.__doc__
    assert inspect.signature(get_weather) == inspect.signature(get_weather.function)


def test_decorator_options_override_name_and_description() -> None:
    def f(x: int) -> int:
        """Docstring summary."""
        return x

    t = tool(f, name="renamed", description="Custom.", timeout=1.5, strict=True)
    assert (t.name, t.description, t.timeout, t.strict) == ("renamed", "Custom.", 1.5, True)
    assert t.schema["function"]["strict"] is True
    assert "strict" not in tool(f).schema["function"]


def test_tool_without_docstring_has_empty_description() -> None:
    def f(x: int) -> None:
        pass

    assert tool(f).description == ""


def test_tool_of_a_tool_is_rejected() -> None:
    with pytest.raises(TypeError, match="already a Tool"):
        tool(get_weather)


def test_bound_method_and_callable_object() -> None:
    class Service:
        def lookup(self, key: str) -> str:
            """Look a key up."""
            return key.upper()

    class AsyncCallable:
        async def __call__(self, key: str) -> str:
            return key

    t = tool(Service().lookup)
    assert t.parameters["properties"] == {"key": {"type": "string"}}
    assert t.description == "Look a key up."
    assert t("abc") == "ABC"
    c = tool(AsyncCallable(), name="async_callable")
    assert c.is_async is True
    assert c.parameters["required"] == ["key"]


def test_partial_hides_bound_parameters() -> None:
    def scaled(x: int, factor: int) -> int:
        """Scale x."""
        return x * factor

    t = tool(functools.partial(scaled, factor=3), name="triple")
    assert t.description == "Scale x."
    assert t.parameters["properties"]["x"] == {"type": "integer"}


# -- schema generation, one supported type at a time ---------------------------------------------


def test_primitive_types() -> None:
    def f(s: str, i: int, n: float, b: bool, z: None) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props == {
        "s": {"type": "string"},
        "i": {"type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "z": {"type": "null"},
    }


def test_optional_and_pipe_none_are_nullable() -> None:
    def f(a: Optional[int], b: str | None) -> None:  # noqa: UP045 - Optional on purpose
        pass

    props = schema_of(f)["properties"]
    assert props["a"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["b"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert schema_of(f)["required"] == ["a", "b"]  # nullable but still required


def test_union_is_any_of() -> None:
    def f(x: Union[int, str, list[int]]) -> None:  # noqa: UP007 - Union on purpose
        pass

    assert prop(f) == {
        "anyOf": [
            {"type": "integer"},
            {"type": "string"},
            {"type": "array", "items": {"type": "integer"}},
        ]
    }


def test_literal_enums() -> None:
    def f(
        s: Literal["a", "b"],
        i: Literal[1, 2, 3],
        b: Literal[True],
        mixed: Literal["a", 1, None],
        member: Literal[Color.RED],
    ) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props["s"] == {"type": "string", "enum": ["a", "b"]}
    assert props["i"] == {"type": "integer", "enum": [1, 2, 3]}
    assert props["b"] == {"type": "boolean", "enum": [True]}
    assert props["mixed"] == {"enum": ["a", 1, None]}
    assert props["member"] == {"type": "string", "enum": ["red"]}


def test_enum_classes() -> None:
    def f(c: Color, p: Priority, m: Mixed) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props["c"] == {"type": "string", "enum": ["red", "green"]}
    assert props["p"] == {"type": "integer", "enum": [1, 2]}
    assert props["m"] == {"enum": [1, "two"]}


def test_sequences_are_arrays() -> None:
    def f(a: list[str], b: Sequence[int], c: tuple[float, ...], d: list, e: tuple) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": "array", "items": {"type": "string"}}
    assert props["b"] == {"type": "array", "items": {"type": "integer"}}
    assert props["c"] == {"type": "array", "items": {"type": "number"}}
    assert props["d"] == {"type": "array"}
    assert props["e"] == {"type": "array"}


def test_fixed_tuple_uses_prefix_items() -> None:
    def f(x: tuple[int, str]) -> None:
        pass

    assert prop(f) == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }


def test_empty_and_bare_tuples() -> None:
    def f(empty: tuple[()], bare: tuple, alias: typing.Tuple) -> None:  # noqa: UP006
        pass

    props = schema_of(f)["properties"]
    assert props["empty"] == {"type": "array", "maxItems": 0}
    assert props["bare"] == {"type": "array"}
    assert props["alias"] == {"type": "array"}


def test_sets_are_unique_arrays() -> None:
    def f(a: set[str], b: frozenset[int], c: set) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert props["b"] == {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    assert props["c"] == {"type": "array", "uniqueItems": True}


def test_mappings_are_objects_with_additional_properties() -> None:
    def f(a: dict[str, int], b: Mapping[str, list[str]], c: dict, d: dict[str, Any]) -> None:
        pass

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["b"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    }
    assert props["c"] == {"type": "object"}
    assert props["d"] == {"type": "object", "additionalProperties": {}}


def test_any_has_no_constraint() -> None:
    def f(x: Any) -> None:
        pass

    assert prop(f) == {}


def test_newtype_uses_its_supertype() -> None:
    def f(x: UserId) -> None:
        pass

    assert prop(f) == {"type": "integer"}


def test_typeddict_required_keys_and_nesting() -> None:
    def f(x: Person) -> None:
        pass

    address = {
        "type": "object",
        "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        "required": ["street", "city"],
        "additionalProperties": False,
    }
    assert prop(f) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "address": address,
            "nickname": {"type": "string"},
            "favourite": {"type": "string", "enum": ["red", "green"]},
        },
        "required": ["name", "address"],
        "additionalProperties": False,
    }


def test_dataclass_fields_defaults_and_descriptions() -> None:
    def f(x: Point) -> None:
        pass

    assert prop(f) == {
        "type": "object",
        "properties": {
            "x": {"type": "integer", "description": "Horizontal position."},
            "y": {"type": "integer", "description": "Vertical position.", "default": 0},
        },
        "required": ["x"],
        "additionalProperties": False,
    }


def test_nested_dataclasses_are_inlined() -> None:
    def f(shape: Shape) -> None:
        pass

    schema = schema_of(f)
    assert "$defs" not in schema
    shape = schema["properties"]["shape"]
    assert shape["required"] == ["name", "points"]
    assert shape["properties"]["points"]["items"]["properties"]["x"]["type"] == "integer"
    assert shape["properties"]["color"] == {
        "type": "string",
        "enum": ["red", "green"],
        "default": "red",
    }
    assert shape["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }


def test_recursive_dataclass_uses_defs_and_ref() -> None:
    def f(tree: TreeNode, other: TreeNode) -> None:
        pass

    schema = schema_of(f)
    assert schema["properties"]["tree"] == {"$ref": "#/$defs/TreeNode"}
    assert schema["properties"]["other"] == {"$ref": "#/$defs/TreeNode"}
    node = schema["$defs"]["TreeNode"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/TreeNode"}
    assert node["required"] == ["value"]


def test_recursive_classes_with_the_same_name_get_distinct_defs() -> None:
    def f(a: TreeNode, b: OtherTree) -> None:
        pass

    schema = schema_of(f)
    assert schema["properties"] == {
        "a": {"$ref": "#/$defs/TreeNode"},
        "b": {"$ref": "#/$defs/TreeNode_2"},
    }
    assert "label" in schema["$defs"]["TreeNode_2"]["properties"]


def test_mutually_recursive_dataclasses() -> None:
    def f(team: Team) -> None:
        pass

    schema = schema_of(f)
    assert schema["properties"]["team"] == {"$ref": "#/$defs/Team"}
    # Employee is not itself the start of the cycle here, so it is inlined in Team.
    lead = schema["$defs"]["Team"]["properties"]["lead"]
    assert lead["properties"]["team"] == {
        "anyOf": [{"$ref": "#/$defs/Team"}, {"type": "null"}],
        "default": None,
    }


def test_annotated_adds_a_description_that_beats_the_docstring() -> None:
    def f(a: Annotated[str, "From Annotated."], b: Annotated[int, 42, "Text."]) -> None:
        """Summary.

        Args:
            a: From the docstring.
        """

    props = schema_of(f)["properties"]
    assert props["a"] == {"type": "string", "description": "From Annotated."}
    assert props["b"] == {"type": "integer", "description": "Text."}


def test_annotated_without_text_changes_nothing() -> None:
    def f(x: Annotated[int, 5]) -> None:
        pass

    assert prop(f) == {"type": "integer"}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.NotRequired is new in 3.11")
def test_typeddict_required_and_not_required_qualifiers() -> None:
    Options = TypedDict(  # noqa: UP013 - the functional form keeps the qualifiers as objects
        "Options",
        {"a": typing.Required[int], "b": typing.NotRequired[str]},
        total=False,
    )

    def f(x: Any) -> None:
        pass

    f.__annotations__["x"] = Options
    assert prop(f)["required"] == ["a"]
    assert prop(f)["properties"] == {"a": {"type": "integer"}, "b": {"type": "string"}}


def test_defaults_make_parameters_optional() -> None:
    def f(
        a: int,
        b: int = 3,
        c: Color = Color.GREEN,
        d: tuple[int, int] = (1, 2),
        e: str | None = None,
        g: Any = object(),  # noqa: B008 - a default with no JSON form
        h: float = float("nan"),
    ) -> None:
        pass

    schema = schema_of(f)
    props = schema["properties"]
    assert schema["required"] == ["a"]
    assert props["b"]["default"] == 3
    assert props["c"]["default"] == "green"
    assert props["d"]["default"] == [1, 2]
    assert props["e"]["default"] is None
    assert "default" not in props["g"]
    assert "default" not in props["h"]


def test_return_annotation_is_ignored_even_when_unresolvable() -> None:
    def f(x: int) -> Decimal:  # Decimal is imported only under TYPE_CHECKING
        raise NotImplementedError

    assert schema_of(f)["properties"] == {"x": {"type": "integer"}}


def test_run_context_parameters_are_left_out() -> None:
    def f(
        a: RunContext,
        x: int,
        b: RunContext | None = None,
        c: Optional[RunContext] = None,  # noqa: UP045 - Optional on purpose
        d: Annotated[RunContext, "ctx"] = None,  # type: ignore[assignment]
    ) -> None:
        pass

    schema = schema_of(f)
    assert list(schema["properties"]) == ["x"]
    assert schema["required"] == ["x"]


# -- docstring styles ----------------------------------------------------------------------------


def google(location: str, units: str, days: int) -> None:
    """Forecast the weather
    for a few days.

    More details that are not part of the summary.

    Args:
        location (str): City and country,
            for example "Paris, France".
        units: Temperature units.
        days: How many days.

    Returns:
        Nothing.
    """


def numpy(location: str, units: str, days: int) -> None:
    """Forecast the weather.

    Parameters
    ----------
    location : str
        City and country,
        for example "Paris, France".
    units, days
        Shared description.

    Returns
    -------
    None
    """


def sphinx(location: str, units: str, days: int) -> None:
    """Forecast the weather.

    :param location: City and country,
        for example "Paris, France".
    :param str units: Temperature units.
    :param Optional[int] days: How many days.
    :returns: nothing.
    """


def test_google_docstring() -> None:
    t = tool(google)
    assert t.description == "Forecast the weather for a few days."
    props = t.parameters["properties"]
    assert props["location"]["description"] == 'City and country, for example "Paris, France".'
    assert props["units"]["description"] == "Temperature units."
    assert props["days"]["description"] == "How many days."


def test_numpy_docstring() -> None:
    t = tool(numpy)
    assert t.description == "Forecast the weather."
    props = t.parameters["properties"]
    assert props["location"]["description"] == 'City and country, for example "Paris, France".'
    assert props["units"]["description"] == "Shared description."
    assert props["days"]["description"] == "Shared description."


def test_sphinx_docstring() -> None:
    t = tool(sphinx)
    assert t.description == "Forecast the weather."
    props = t.parameters["properties"]
    assert props["location"]["description"] == 'City and country, for example "Paris, France".'
    assert props["units"]["description"] == "Temperature units."
    assert props["days"]["description"] == "How many days."


def test_summary_stops_at_a_section_without_blank_line() -> None:
    doc = parse_docstring("Do a thing.\nArgs:\n    x: The x.\n")
    assert doc.summary == "Do a thing."
    assert doc.params == {"x": "The x."}


def test_empty_and_missing_docstrings() -> None:
    assert parse_docstring(None).summary == ""
    assert parse_docstring("   ").params == {}


def test_google_section_ends_at_dedent() -> None:
    doc = parse_docstring(
        """Summary.

        Args:
            a: First.

        Example:
            b: not a parameter.
        """
    )
    assert doc.params == {"a": "First."}


# -- strict mode ---------------------------------------------------------------------------------


def strict_fn(
    location: str,
    point: Point,
    units: Literal["c", "f"] = "c",
    limit: int | None = 5,
    person: Person | None = None,
) -> dict[str, Any]:
    return {"location": location, "point": point, "units": units, "limit": limit, "p": person}


def _all_objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found.extend(_all_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_all_objects(value))
    return found


def _has_key(schema: Any, key: str) -> bool:
    if isinstance(schema, dict):
        return key in schema or any(_has_key(v, key) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_key(v, key) for v in schema)
    return False


def test_strict_schema() -> None:
    schema = schema_of(strict_fn, strict=True)
    props = schema["properties"]
    assert schema["required"] == ["location", "point", "units", "limit", "person"]
    # Optional parameters become nullable; one that already accepts null stays as it is.
    assert props["units"] == {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]}
    assert props["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["point"]["properties"]["y"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "Vertical position.",
    }
    assert not _has_key(schema, "default")
    objects = _all_objects(schema)
    assert len(objects) == 4  # parameters, Point, Person, Address
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])


def test_strict_rejects_free_form_dicts() -> None:
    def f(x: dict[str, int]) -> None:
        pass

    with pytest.raises(TypeError, match=r"f\(\): parameter 'x'.*strict"):
        tool(f, strict=True)


async def test_strict_null_means_default_when_the_type_is_not_nullable() -> None:
    t = tool(strict_fn, strict=True)
    result = await t.invoke(
        {
            "location": "Paris",
            "point": {"x": 1, "y": None},
            "units": None,
            "limit": None,
            "person": None,
        }
    )
    assert result["point"] == Point(x=1, y=0)
    assert result["units"] == "c"  # null -> the Python default
    assert result["limit"] is None  # int | None: null is a real value


def test_strict_validate_requires_every_key() -> None:
    t = tool(strict_fn, strict=True)
    with pytest.raises(ToolArgumentsError) as info:
        t.validate({"location": "Paris", "point": {"x": 1, "y": 2}})
    assert info.value.errors == [
        ("$", "'limit' is a required property"),
        ("$", "'person' is a required property"),
        ("$", "'units' is a required property"),
    ]


# -- registration errors -------------------------------------------------------------------------


def _var_args(*args: int) -> None: ...
def _var_kwargs(**kwargs: int) -> None: ...
def _positional_only(x: int, /) -> None: ...
def _unannotated(x, y: int) -> None: ...  # type: ignore[no-untyped-def]
def _plain_class(x: Plain) -> None: ...
def _int_keys(mapping: dict[int, str]) -> None: ...
def _nested_plain(shape: WithPlain) -> None: ...
def _bad_enum(choice: BadEnum) -> None: ...
def _bad_literal(choice: Literal[b"raw"]) -> None: ...
def _unresolved(x: DoesNotExist) -> None: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("fn", "param", "needle"),
    [
        (_var_args, "args", r"\*args"),
        (_var_kwargs, "kwargs", r"\*\*kwargs"),
        (_positional_only, "x", "positional-only"),
        (_unannotated, "x", "no type annotation"),
        (_plain_class, "x", "unsupported type Plain"),
        (_int_keys, "mapping", "dict keys must be str"),
        (_nested_plain, "shape", r"unsupported type Plain \(at shape -> WithPlain.callback\)"),
        (_bad_enum, "choice", "not a JSON scalar"),
        (_bad_literal, "choice", "not a JSON scalar"),
        (_unresolved, "x", "DoesNotExist"),
    ],
)
def test_registration_errors_name_function_and_parameter(fn: Any, param: str, needle: str) -> None:
    with pytest.raises(TypeError, match=needle) as info:
        tool(fn)
    message = str(info.value)
    assert f"{fn.__name__}()" in message
    assert f"parameter {param!r}" in message


def test_callable_type_is_rejected() -> None:
    def f(callback: Callable[[int], int]) -> None:
        pass

    with pytest.raises(TypeError, match=r"f\(\): parameter 'callback': unsupported type"):
        tool(f)


def test_method_self_gets_a_hint() -> None:
    with pytest.raises(TypeError, match="bound method instead"):

        class Service:
            @tool
            def method(self, x: int) -> None: ...


def test_invalid_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="invalid tool name '<lambda>'"):
        tool(lambda: None)
    with pytest.raises(ValueError, match="invalid tool name"):
        tool(google, name="has space")
    with pytest.raises(ValueError, match="invalid tool name"):
        tool(google, name="x" * 65)
    with pytest.raises(TypeError, match="must be a str"):
        tool(google, name=42)  # type: ignore[call-overload]
    assert tool(google, name="ok-Name_1").name == "ok-Name_1"


def test_invalid_timeout_is_rejected() -> None:
    with pytest.raises(ValueError, match="timeout"):
        tool(google, timeout=0)


# -- raw tools -----------------------------------------------------------------------------------

RAW_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "word": {"type": "string"},
        "odd key": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
    "required": ["word"],
}


def lookup(word: str, ctx: RunContext, **rest: Any) -> dict[str, Any]:
    return {"word": word, "ctx": ctx, "rest": rest}


def test_raw_tool() -> None:
    raw = Tool(name="lookup", description="Look a word up.", parameters=RAW_PARAMETERS, function=lookup)
    assert raw.schema == {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": RAW_PARAMETERS,
        },
    }
    assert raw.is_async is False
    assert raw.__name__ == "lookup"
    assert raw("w", RunContext())["word"] == "w"
    strict = Tool("lookup", "", RAW_PARAMETERS, lookup, strict=True, timeout=2)
    assert strict.schema["function"]["strict"] is True
    assert strict.timeout == 2


async def test_raw_tool_passes_arguments_unchanged_and_injects_context() -> None:
    raw = Tool("lookup", "", RAW_PARAMETERS, lookup)
    context = RunContext(tool_call_id="call_1", tool_name="lookup")
    result = await raw.invoke({"word": "w", "items": [{"name": "n"}]}, context)
    assert result == {"word": "w", "ctx": context, "rest": {"items": [{"name": "n"}]}}


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"name": "bad name"}, ValueError, "invalid tool name"),
        ({"name": None}, TypeError, "must be a str"),
        ({"parameters": [1]}, TypeError, "must be a dict"),
        ({"parameters": {"type": "array"}}, ValueError, "object schema"),
        (
            {"parameters": {"type": "object", "properties": {"a": {"type": 5}}}},
            ValueError,
            r"not a valid JSON schema.*\$\.properties\.a\.type",
        ),
        ({"function": "not callable"}, TypeError, "callable"),
        ({"description": None}, TypeError, "description"),
        ({"timeout": -1}, ValueError, "timeout"),
    ],
)
def test_raw_tool_registration_errors(kwargs: dict[str, Any], error: type, needle: str) -> None:
    args: dict[str, Any] = {
        "name": "lookup",
        "description": "",
        "parameters": RAW_PARAMETERS,
        "function": lookup,
    }
    args.update(kwargs)
    timeout = args.pop("timeout", None)
    with pytest.raises(error, match=needle):
        Tool(**args, timeout=timeout)


# -- validate() ----------------------------------------------------------------------------------


def test_validate_accepts_good_arguments() -> None:
    assert get_weather.validate({"location": "Paris"}) is None
    assert get_weather.validate({"location": "Paris", "units": "fahrenheit"}) is None


def test_validate_reports_every_error_with_its_path() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        get_weather.validate({"units": "kelvin", "extra": 1})
    error = info.value
    assert isinstance(error, ToolError) and isinstance(error, ClarifaiError)
    assert error.tool_name == "get_weather"
    assert error.errors == [
        ("$", "'location' is a required property"),
        ("$", "Additional properties are not allowed ('extra' was unexpected)"),
        ("$.units", "'kelvin' is not one of ['celsius', 'fahrenheit']"),
    ]
    assert "$.units: 'kelvin' is not one of" in str(error)


def test_validate_nested_paths_sorted_numerically() -> None:
    def f(shapes: list[Shape]) -> None:
        pass

    t = tool(f)
    good = {"name": "s", "points": [{"x": 1}]}
    shapes = [good] * 11
    shapes[2] = {"name": 3, "points": [{"x": 1}, {"x": "no"}]}
    shapes[10] = {"name": "s", "points": [], "color": "blue"}
    with pytest.raises(ToolArgumentsError) as info:
        t.validate({"shapes": shapes})
    assert info.value.errors == [
        ("$.shapes[2].name", "3 is not of type 'string'"),
        ("$.shapes[2].points[1].x", "'no' is not of type 'integer'"),
        ("$.shapes[10].color", "'blue' is not one of ['red', 'green']"),
    ]


def test_validate_optional_reports_the_inner_problem() -> None:
    def f(units: Literal["c", "f"] | None = None, n: int | str = 0) -> None:
        pass

    t = tool(f)
    with pytest.raises(ToolArgumentsError) as info:
        t.validate({"units": "k", "n": [1]})
    assert info.value.errors == [
        ("$.n", "[1] is not valid under any of the given schemas"),
        ("$.units", "'k' is not one of ['c', 'f']"),
    ]


def test_validate_odd_keys_and_non_objects() -> None:
    raw = Tool("lookup", "", RAW_PARAMETERS, lookup)
    with pytest.raises(ToolArgumentsError) as info:
        raw.validate({"word": "w", "odd key": "x", "items": [{"name": 1}]})
    assert info.value.errors == [
        ("$.items[0].name", "1 is not of type 'string'"),
        ('$["odd key"]', "'x' is not of type 'integer'"),
    ]
    with pytest.raises(ToolArgumentsError) as info:
        raw.validate(["not", "an", "object"])  # type: ignore[arg-type]
    assert info.value.errors == [("$", "['not', 'an', 'object'] is not of type 'object'")]


def test_validator_is_compiled_once() -> None:
    def f(x: int) -> None:
        pass

    t = tool(f)
    t.validate({"x": 1})
    first = t._validator
    t.validate({"x": 2})
    assert first is not None and t._validator is first


def test_importing_tools_does_not_import_jsonschema() -> None:
    # The package __init__ is stubbed so that only aclarifai.tools and what it imports are
    # measured, whatever other modules the package pulls in.
    code = (
        "import sys, types\n"
        f"pkg = types.ModuleType('aclarifai'); pkg.__path__ = [{str(ROOT / 'aclarifai')!r}]\n"
        "sys.modules['aclarifai'] = pkg\n"
        "import aclarifai.tools\n"
        "@aclarifai.tools.tool\n"
        "def f(x: int) -> None: pass\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n"
        "f.validate({'x': 1})\n"
        "assert 'jsonschema' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


# -- invoke() ------------------------------------------------------------------------------------


async def test_invoke_sync_runs_in_a_worker_thread() -> None:
    def where(x: int) -> int:
        return threading.get_ident()

    ident = await tool(where).invoke({"x": 1})
    assert ident != threading.get_ident()


async def test_invoke_async_is_awaited_on_the_loop() -> None:
    async def where(x: int) -> tuple[int, int]:
        await asyncio.sleep(0)
        return x, threading.get_ident()

    t = tool(where)
    assert t.is_async
    assert await t.invoke({"x": 7}) == (7, threading.get_ident())


async def test_invoke_uses_defaults() -> None:
    assert await get_weather.invoke({"location": "Lima"}) == {
        "location": "Lima",
        "units": "celsius",
    }
    assert await search.invoke({"query": "q", "limit": 1}) == ["q-0"]


async def test_invoke_validates_first() -> None:
    calls: list[int] = []

    def f(x: int) -> None:
        calls.append(x)

    with pytest.raises(ToolArgumentsError):
        await tool(f).invoke({"x": "one"})
    assert calls == []


async def test_invoke_propagates_exceptions() -> None:
    def boom(x: int) -> None:
        raise KeyError(x)

    with pytest.raises(KeyError):
        await tool(boom).invoke({"x": 1})


async def test_invoke_converts_arguments_to_declared_types() -> None:
    seen: dict[str, Any] = {}

    def f(
        color: Color,
        priority: Priority,
        shape: Shape,
        shapes: list[Shape],
        person: Person,
        pair: tuple[int, str],
        numbers: tuple[int, ...],
        unique: set[str],
        frozen: frozenset[int],
        by_name: dict[str, Point],
        maybe: Point | None,
        member: Literal[Color.GREEN],
        ratio: float,
        count: int,
    ) -> None:
        seen.update(locals())

    point = {"x": 1, "y": 2}
    await tool(f).invoke(
        {
            "color": "red",
            "priority": 2,
            "shape": {"name": "s", "points": [point], "color": "green", "tags": ["a"]},
            "shapes": [{"name": "t", "points": []}],
            "person": {"name": "Ann", "address": {"street": "1", "city": "X"}, "favourite": "red"},
            "pair": [1, "a"],
            "numbers": [1, 2],
            "unique": ["a", "b"],
            "frozen": [1],
            "by_name": {"p": point},
            "maybe": None,
            "member": "green",
            "ratio": 2,
            "count": 3.0,
        }
    )
    assert seen["color"] is Color.RED
    assert seen["priority"] is Priority.HIGH
    assert seen["shape"] == Shape("s", [Point(1, 2)], Color.GREEN, ("a",))
    assert seen["shapes"] == [Shape("t", [])]
    assert type(seen["person"]) is dict
    assert seen["person"]["favourite"] is Color.RED
    assert seen["person"]["address"] == {"street": "1", "city": "X"}
    assert seen["pair"] == (1, "a")
    assert seen["numbers"] == (1, 2)
    assert seen["unique"] == {"a", "b"}
    assert seen["frozen"] == frozenset({1})
    assert seen["by_name"] == {"p": Point(1, 2)}
    assert seen["maybe"] is None
    assert seen["member"] is Color.GREEN
    assert type(seen["ratio"]) is float
    assert type(seen["count"]) is int


async def test_invoke_converts_union_members_in_order() -> None:
    def f(value: Point | Color | list[Point]) -> Any:
        return value

    t = tool(f)
    assert await t.invoke({"value": {"x": 1}}) == Point(1)
    assert await t.invoke({"value": "green"}) is Color.GREEN
    assert await t.invoke({"value": [{"x": 2}]}) == [Point(2)]


async def test_union_members_are_told_apart_by_shape() -> None:
    def f(value: tuple[int, int] | dict[str, Point] | list[str] | int | float) -> Any:
        return value

    t = tool(f)
    assert await t.invoke({"value": [1, 2]}) == (1, 2)
    assert await t.invoke({"value": ["a", "b", "c"]}) == ["a", "b", "c"]
    assert await t.invoke({"value": {"p": {"x": 1}}}) == {"p": Point(1)}
    assert await t.invoke({"value": 2.0}) == 2 and type(await t.invoke({"value": 2.0})) is int
    assert await t.invoke({"value": 2.5}) == 2.5


async def test_sync_function_returning_an_awaitable_is_awaited() -> None:
    async def inner(x: int) -> int:
        return x + 1

    def wrapper(x: int) -> Any:
        return inner(x)

    t = tool(wrapper)
    assert t.is_async is False
    assert await t.invoke({"x": 1}) == 2


async def test_invoke_recursive_dataclasses() -> None:
    def f(tree: TreeNode, team: Team) -> tuple[TreeNode, Team]:
        return tree, team

    tree = {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    team = {"name": "a", "lead": {"name": "b", "team": {"name": "c", "lead": {"name": "d"}}}}
    got_tree, got_team = await tool(f).invoke({"tree": tree, "team": team})
    assert got_tree == TreeNode(1, [TreeNode(2, [TreeNode(3)])])
    assert got_team == Team("a", Employee("b", Team("c", Employee("d"))))


# -- RunContext ----------------------------------------------------------------------------------


async def test_run_context_is_injected() -> None:
    def f(x: int, ctx: RunContext) -> tuple[int, RunContext]:
        return x, ctx

    messages = [{"role": "user", "content": "hi"}]
    context = RunContext(tool_call_id="call_9", agent="agent", messages=messages, tool_name="f")
    x, got = await tool(f).invoke({"x": 1}, context)
    assert x == 1 and got is context
    assert got.messages == messages


async def test_blank_run_context_when_none_is_given() -> None:
    async def f(ctx: Optional[RunContext] = None) -> RunContext | None:  # noqa: UP045
        return ctx

    got = await tool(f, name="ctx_tool").invoke({})
    assert got == RunContext(tool_call_id=None, agent=None, messages=[], tool_name="ctx_tool")


async def test_context_cannot_be_smuggled_by_the_model() -> None:
    def f(ctx: RunContext) -> None:
        pass

    with pytest.raises(ToolArgumentsError, match="ctx"):
        await tool(f).invoke({"ctx": "fake"})


# -- timeouts ------------------------------------------------------------------------------------


async def test_async_timeout_cancels_the_tool() -> None:
    never = asyncio.Event()
    cancelled = asyncio.Event()

    @tool(timeout=0.01)
    async def stuck() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError, match="'stuck' did not finish within 0.01 seconds"):
        await stuck.invoke({})
    assert cancelled.is_set()


async def test_sync_timeout() -> None:
    release = threading.Event()

    @tool(timeout=0.01)
    def blocking() -> None:
        release.wait()

    try:
        with pytest.raises(TimeoutError, match="did not finish"):
            await blocking.invoke({})
    finally:
        release.set()  # the worker thread cannot be killed; let it end


async def test_tools_own_timeout_error_is_not_relabelled() -> None:
    @tool(timeout=10)
    async def upstream() -> None:
        raise TimeoutError("upstream API timed out")

    with pytest.raises(TimeoutError, match="upstream API timed out"):
        await upstream.invoke({})


async def test_cancelling_invoke_cancels_the_tool() -> None:
    never = asyncio.Event()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @tool(timeout=10)
    async def stuck() -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.ensure_future(stuck.invoke({}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()


async def test_result_within_timeout_is_returned() -> None:
    @tool(timeout=10)
    async def quick(x: int) -> int:
        return x * 2

    assert await quick.invoke({"x": 21}) == 42


def test_classes_defined_outside_any_module_resolve() -> None:
    # exec() with a namespace that is not in sys.modules: the forward reference to Item can
    # only be resolved through the tool function's globals.
    code = (
        "import dataclasses\n"
        "from aclarifai.tools import tool\n"
        "@dataclasses.dataclass\n"
        "class Item:\n"
        "    name: str\n"
        "    parts: list['Item'] = dataclasses.field(default_factory=list)\n"
        "@tool\n"
        "def store(item: Item) -> None: ...\n"
    )
    namespace: dict[str, Any] = {"__name__": "not_a_module"}
    exec(compile(code, "<snippet>", "exec", dont_inherit=True), namespace)
    parameters = namespace["store"].parameters
    assert parameters["properties"]["item"] == {"$ref": "#/$defs/Item"}
    assert parameters["$defs"]["Item"]["properties"]["name"] == {"type": "string"}
