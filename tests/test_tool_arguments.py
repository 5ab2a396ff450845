"""Tool schemas that mean what the hints say, and arguments that arrive as the validating branch.

Pinned with the examples of issue 13 §1; this module uses ``from __future__ import annotations``
on purpose, since string annotations are what hid ``NotRequired`` from ``__required_keys__``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import subprocess
import sys
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Required, TypedDict

import annotated_types as at
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field, StringConstraints

from aclarifai.errors import ToolArgumentsError
from aclarifai.tools import Tool, tool


def run(t: Tool, arguments: Any) -> Any:
    return asyncio.run(t.invoke(arguments))


def received(hint: Any, **options: Any) -> Tool:
    """A tool whose one parameter ``x`` has type ``hint`` and which returns what it got."""

    def echo(x: Any) -> Any:
        return x

    echo.__annotations__ = {"x": hint, "return": Any}
    return tool(echo, **options)


def strict_same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (True is not 1, 2 is not 2.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(strict_same, a, b))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return strict_same(dataclasses.asdict(a), dataclasses.asdict(b))  # type: ignore[arg-type]
    if isinstance(a, (set, frozenset)):
        return a == b and all(any(strict_same(x, y) for y in b) for x in a)
    return bool(a == b)


# -- TypedDict qualifiers under string annotations ----------------------------------------------


class Person(TypedDict):
    name: str
    nick: NotRequired[str]


class Options(TypedDict, total=False):
    key: Required[str]
    verbose: bool


def test_not_required_and_required_are_honoured_with_string_annotations() -> None:
    @tool
    def greet(person: Person, options: Options) -> str:
        return person["name"]

    properties = greet.parameters["properties"]
    assert properties["person"]["required"] == ["name"]
    assert properties["options"]["required"] == ["key"]
    greet.validate({"person": {"name": "Ada"}, "options": {"key": "k"}})
    with pytest.raises(ToolArgumentsError) as caught:
        greet.validate({"person": {"nick": "A"}, "options": {"verbose": True}})
    assert caught.value.errors == [
        ("$.options", "'key' is a required property"),
        ("$.person", "'name' is a required property"),
    ]


def test_not_required_key_in_strict_mode_is_nullable_and_null_leaves_it_out() -> None:
    @tool(strict=True)
    def greet(person: Person) -> Person:
        return person

    nick = greet.parameters["properties"]["person"]["properties"]["nick"]
    assert nick == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert run(greet, {"person": {"name": "Ada", "nick": None}}) == {"name": "Ada"}


# -- the value converted is that of the branch that validated -----------------------------------


def test_set_or_list_given_duplicates_receives_the_list() -> None:
    t = received(set[int] | list[int])
    assert strict_same(run(t, {"x": [1, 1, 2]}), [1, 1, 2])
    assert strict_same(run(t, {"x": [1, 2]}), {1, 2})
    assert strict_same(run(t, {"x": [1, 1.0]}), [1, 1])  # 1 and 1.0 are one JSON value: not a set


def test_literal_given_an_integral_float_receives_the_declared_int() -> None:
    t = received(Literal[1, 2, 3])
    value = run(t, {"x": 2.0})
    assert value == 2 and type(value) is int
    assert type(run(received(int), {"x": 2.0})) is int


def test_enum_given_an_integral_float_receives_the_member() -> None:
    import enum

    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2

    assert run(received(Level), {"x": 2.0}) is Level.HIGH


# -- every bad argument ends as ToolArgumentsError ----------------------------------------------


def test_a_float_beyond_range_is_a_tool_arguments_error() -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        run(received(float), {"x": 10**400})
    ((path, message),) = caught.value.errors
    assert path == "$.x" and "too large for a float" in message
    with pytest.raises(ToolArgumentsError) as caught:
        run(received(dict[str, list[float]]), {"x": {"a": [1, 10**400]}})
    assert caught.value.errors[0][0] == "$.x.a[1]"


def test_arguments_jsonschema_cannot_check_are_a_tool_arguments_error() -> None:
    t = received(Annotated[int, at.MultipleOf(0.5)])
    with pytest.raises(ToolArgumentsError):
        t.validate({"x": 10**400})  # jsonschema's own multipleOf overflows here
    with pytest.raises(ToolArgumentsError):
        run(t, {"x": 10**400})


def test_arguments_that_are_not_an_object_are_a_tool_arguments_error() -> None:
    t = received(int)
    for arguments in (None, [1], "x", 3):
        with pytest.raises(ToolArgumentsError):
            run(t, arguments)


@dataclasses.dataclass
class Span:
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end is before start")


def test_a_dataclass_that_refuses_its_values_is_a_tool_arguments_error() -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        run(received(list[Span]), {"x": [{"start": 1, "end": 2}, {"start": 3, "end": 1}]})
    ((path, message),) = caught.value.errors
    assert path == "$.x[1]" and "end is before start" in message


def test_set_of_an_unhashable_type_is_refused_at_registration() -> None:
    for hint in (set[list[int]], frozenset[dict[str, int]], set[Span]):
        with pytest.raises(TypeError, match="hashable"):
            received(hint)
    with pytest.raises(ToolArgumentsError):  # Any items may turn out unhashable
        run(received(set[Any]), {"x": [[1], [2]]})


# -- strict mode and $ref ---------------------------------------------------------------------


@dataclasses.dataclass
class Tree:
    """A tree.

    Attributes:
        label: The label.
        children: The subtrees.
        first: The first subtree, if any.
    """

    label: str
    children: list[Tree]
    first: Tree | None = None


def _refs(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, list):
        return [r for s in schema for r in _refs(s)]
    if not isinstance(schema, dict):
        return []
    here = [schema] if "$ref" in schema else []
    return here + [r for v in schema.values() for r in _refs(v)]


def test_strict_mode_never_puts_siblings_next_to_a_ref() -> None:
    @tool(strict=True)
    def plant(tree: Tree, spare: Annotated[Tree, "A spare tree."]) -> str:
        """Plant a tree.

        Args:
            tree: The tree to plant.
        """
        return tree.label

    parameters = plant.parameters
    assert parameters["properties"]["tree"] == {
        "description": "The tree to plant.",
        "anyOf": [{"$ref": "#/$defs/Tree"}],
    }
    assert parameters["properties"]["spare"] == {
        "description": "A spare tree.",
        "anyOf": [{"$ref": "#/$defs/Tree"}],
    }
    assert all(list(ref) == ["$ref"] for ref in _refs(parameters))
    Draft202012Validator.check_schema(parameters)
    leaf = {"label": "leaf", "children": [], "first": None}
    got = run(plant, {"tree": {"label": "t", "children": [leaf], "first": None}, "spare": leaf})
    assert got == "t"


def test_non_strict_mode_keeps_the_description_next_to_the_ref() -> None:
    @tool
    def plant(tree: Tree) -> str:
        """Plant a tree.

        Args:
            tree: The tree to plant.
        """
        return tree.label

    assert plant.parameters["properties"]["tree"] == {
        "$ref": "#/$defs/Tree",
        "description": "The tree to plant.",
    }


# -- docstrings -------------------------------------------------------------------------------


def test_google_entry_with_parentheses_inside_its_type_keeps_its_description() -> None:
    @tool
    def count(x: dict[str, int], y: list[tuple[int, int]]) -> int:
        """Count.

        Args:
            x (dict(str, int)): text
            y (list(tuple(int, int))): pairs
        """
        return len(x)

    properties = count.parameters["properties"]
    assert properties["x"]["description"] == "text"
    assert properties["y"]["description"] == "pairs"


# -- Annotated constraints --------------------------------------------------------------------


CONSTRAINED = [
    (Annotated[int, at.Ge(0)], {"type": "integer", "minimum": 0}, [0, 5], [-1]),
    (Annotated[int, Field(ge=0)], {"type": "integer", "minimum": 0}, [0], [-1]),
    (Annotated[float, at.Gt(0), at.Lt(1)], {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
     [0.5], [0, 1, 2]),
    (Annotated[int, at.Interval(ge=1, le=3)], {"type": "integer", "minimum": 1, "maximum": 3},
     [1, 3], [0, 4]),
    (Annotated[float, at.MultipleOf(0.5)], {"type": "number", "multipleOf": 0.5}, [1.5, 2.0], [1.2]),
    (Annotated[int, Field(gt=1, le=10, multiple_of=2)],
     {"type": "integer", "exclusiveMinimum": 1, "maximum": 10, "multipleOf": 2}, [2, 10], [1, 3, 12]),
    (Annotated[str, at.MinLen(2), at.MaxLen(3)], {"type": "string", "minLength": 2, "maxLength": 3},
     ["ab", "abc"], ["a", "abcd"]),
    (Annotated[str, at.Len(1, 2)], {"type": "string", "minLength": 1, "maxLength": 2}, ["a"], ["", "abc"]),
    (Annotated[list[int], at.MinLen(1)], {"type": "array", "items": {"type": "integer"}, "minItems": 1},
     [[1]], [[]]),
    (Annotated[dict[str, int], at.MaxLen(1)],
     {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 1}, [{"a": 1}],
     [{"a": 1, "b": 2}]),
    (Annotated[str, Field(pattern="^[a-z]+$", description="Lower case.")],
     {"type": "string", "pattern": "^[a-z]+$", "description": "Lower case."}, ["abc"], ["Abc"]),
    (Annotated[str, StringConstraints(max_length=2, pattern="x")],
     {"type": "string", "maxLength": 2, "pattern": "x"}, ["x", "ax"], ["a", "xxx"]),
    (Annotated[int, Field(title="Count", examples=[3])],
     {"type": "integer", "title": "Count", "examples": [3]}, [3], ["3"]),
]


def test_annotated_constraints_reach_the_schema_and_the_validation() -> None:
    for hint, schema, good, bad in CONSTRAINED:
        t = received(hint)
        assert t.parameters["properties"]["x"] == schema, hint
        for value in good:
            assert strict_same(run(t, {"x": value}), value), (hint, value)
        for value in bad:
            with pytest.raises(ToolArgumentsError):
                run(t, {"x": value})


def test_a_constraint_decides_which_union_member_a_value_belongs_to() -> None:
    t = received(Annotated[int, at.Ge(0)] | str)
    assert run(t, {"x": 3}) == 3
    with pytest.raises(ToolArgumentsError):
        run(t, {"x": -3})
    small_set = received(Annotated[set[int], at.MaxLen(2)] | list[int])
    assert strict_same(run(small_set, {"x": [1, 2]}), {1, 2})
    assert strict_same(run(small_set, {"x": [1, 2, 3]}), [1, 2, 3])


def test_constraints_that_cannot_be_described_are_refused_at_registration() -> None:
    refused = [
        (Annotated[int, at.Predicate(lambda v: v > 0)], "Predicate"),
        (Annotated[int, Field(alias="y")], "alias"),
        (Annotated[int, Field(strict=True)], "Strict"),
        (Annotated[str, at.Ge(0)], "int or float"),
        (Annotated[int, at.MinLen(1)], "str, list"),
        (Annotated[int | None, at.Ge(0)], "int or float"),
        (Annotated[int, at.Ge(True)], "finite"),
        (Annotated[float, at.MultipleOf(0)], "positive"),
        (Annotated[str, Field(pattern="(")], "regular expression"),
        (Annotated[str, StringConstraints(strip_whitespace=True)], "strip_whitespace"),
    ]
    for hint, words in refused:
        with pytest.raises(TypeError, match=words):
            received(hint)


def test_import_aclarifai_imports_neither_pydantic_nor_annotated_types() -> None:
    code = (
        "import sys, aclarifai, aclarifai.tools, aclarifai.agent\n"
        "from typing import Annotated\n"
        "from aclarifai.tools import tool\n"
        "@tool\n"
        "def f(x: Annotated[int, 'n']) -> int: return x\n"
        "print(sorted(m for m in ('pydantic', 'annotated_types') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- what is refused, with what to write instead --------------------------------------------


class Point(NamedTuple):
    x: int
    y: int


class Model(BaseModel):
    x: int


def test_refused_types_say_what_to_use_instead() -> None:
    refused = [
        (Model, "use a dataclass or a TypedDict"),
        (Point, "use a dataclass"),
        (bytes, "take a str"),
        (datetime.datetime, "fromisoformat"),
        (datetime.date, "ISO 8601"),
    ]
    for hint, advice in refused:
        with pytest.raises(TypeError, match=advice):
            received(hint)


def test_refused_parameter_kinds_say_what_to_use_instead() -> None:
    def star(*values: int) -> None: ...

    def double_star(**options: int) -> None: ...

    def positional(x: int, /) -> None: ...

    for function, advice in ((star, "list"), (double_star, "dict"), (positional, "remove the '/'")):
        with pytest.raises(TypeError, match=advice):
            tool(function)


def test_mapping_results_are_plain_dicts_for_typeddicts() -> None:
    value = run(received(Person), {"x": {"name": "Ada"}})
    assert type(value) is dict and isinstance(value, Mapping)
    assert typing.get_type_hints(Person, include_extras=True)["nick"] == NotRequired[str]


# -- property: the value received is the validating branch's --------------------------------


class Level(__import__("enum").IntEnum):
    LOW = 1
    HIGH = 2


MEMBERS: list[Any] = [
    int, float, bool, str, type(None), Literal[1, 2, 3], Literal["a", "b"], Level,
    list[int], list[float], set[int], frozenset[str], tuple[int, str], tuple[int, ...],
    dict[str, int], Span, Person, list[set[int] | list[int]],
    Annotated[int, at.Ge(0)], Annotated[str, at.MaxLen(1)], Annotated[float, at.MultipleOf(0.5)],
    Annotated[list[int], at.MinLen(2)], Annotated[set[int], at.MaxLen(2)],
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([10**400, -(10**30)])
    | st.integers(-3, 3).map(float)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text("ab", max_size=2)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "name", "nick", "start", "end"]), inner, max_size=3),
    max_leaves=8,
)
_unions = st.lists(st.sampled_from(MEMBERS), min_size=2, max_size=3, unique_by=repr).map(
    lambda members: typing.Union[tuple(members)]  # noqa: UP007 - built at run time
)


def _outcome(t: Tool, value: Any) -> tuple[str, Any]:
    try:
        return "value", run(t, {"x": value})
    except ToolArgumentsError:
        return "refused", None


@settings(derandomize=True, max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_unions, st.lists(_values, min_size=1, max_size=4))
def test_a_union_passes_what_its_first_validating_member_would(union: Any, values: list[Any]) -> None:
    members = typing.get_args(union)
    union_tool = received(union)
    member_tools = [received(m) for m in members]
    for value in values:
        got = _outcome(union_tool, value)
        valid = [m for m in member_tools if _is_valid(m, value)]
        if not valid:
            assert got == ("refused", None), (union, value)
            continue
        expected = _outcome(valid[0], value)
        assert got[0] == expected[0] and strict_same(got[1], expected[1]), (union, value, got, expected)


def _is_valid(t: Tool, value: Any) -> bool:
    try:
        t.validate({"x": value})
    except ToolArgumentsError:
        return False
    return True


@settings(derandomize=True, max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MEMBERS) | _unions, st.booleans(), st.lists(_values, min_size=1, max_size=4))
def test_the_predicate_that_picks_a_branch_agrees_with_the_schema(
    hint: Any, strict: bool, values: list[Any]
) -> None:
    from aclarifai._schema import build_function_schema
    from aclarifai.tools import RunContext

    def echo(x: Any) -> Any:
        return x

    echo.__annotations__ = {"x": hint}
    try:
        spec = build_function_schema(echo, strict=strict, context_type=RunContext)
    except TypeError:  # a free-form dict in strict mode
        assume(False)
        return
    schema = {**spec.parameters["properties"]["x"], "$defs": spec.parameters.get("$defs", {})}
    validator = Draft202012Validator(schema)
    node = spec.fields["x"].node
    for value in values:
        try:
            expected = validator.is_valid(value)
        except OverflowError:  # jsonschema's multipleOf on 10**400; such a value is refused
            expected = False
        assert node.accepts(value) is expected, (hint, value)
