"""Tests for aclarifai._partial_json: the incremental parser of fragmented JSON text."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aclarifai._partial_json import PartialJSONParser
from aclarifai._partial_views import PartialArray, PartialObject, plain


def parse(*fragments: str) -> PartialJSONParser:
    parser = PartialJSONParser()
    for fragment in fragments:
        parser.feed(fragment)
    return parser


def strict_eq(a: Any, b: Any) -> bool:
    """Equality that also tells True from 1, 1 from 1.0, -0.0 from 0.0 and checks key order.

    Open containers in a snapshot are read-only views; they are compared as what they show.
    """
    a, b = plain(a), plain(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_eq(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(strict_eq, a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def is_prefix(partial: Any, final: Any) -> bool:
    """Every member of ``partial`` is final, except that its last may be an open container."""
    partial = plain(partial)
    if isinstance(final, dict):
        if type(partial) is not dict:
            return False
        keys = list(partial)
        if keys != list(final)[: len(keys)]:
            return False
        done = all(strict_eq(partial[k], final[k]) for k in keys[:-1])
        return done and (not keys or is_prefix(partial[keys[-1]], final[keys[-1]]))
    if isinstance(final, list):
        if type(partial) is not list or len(partial) > len(final):
            return False
        done = all(map(strict_eq, partial[:-1], final))
        return done and (not partial or is_prefix(partial[-1], final[len(partial) - 1]))
    return strict_eq(partial, final)


# -- what snapshots show ----------------------------------------------------------------------


def test_streamed_tool_arguments_show_each_completed_member() -> None:
    parser = PartialJSONParser()
    seen = []
    for fragment in ['{"loc', 'ation": "Par', 'is", "days": [1, 2', "]}"]:
        parser.feed(fragment)
        seen.append((parser.snapshot().value, parser.complete))
    assert seen == [
        ({}, False),
        ({}, False),
        ({"location": "Paris", "days": [1]}, False),
        ({"location": "Paris", "days": [1, 2]}, True),
    ]


# Test tables are looped over rather than parametrised: the suite's autouse leak guard runs a
# full gc.collect() per test item, which would dominate this file's run time.
PARTIAL = [
    ('{"a": 1, "b": "par', {"a": 1}),
    ('{"a": [1, 2', {"a": [1]}),
    ('{"a": [1, 2 ', {"a": [1, 2]}),
    ('{"a": {"b": true}, "c": [', {"a": {"b": True}, "c": []}),
    ('{"a": {"b": {"c": [[{"d": nu', {"a": {"b": {"c": [[{}]]}}}),
    ('{"a"', {}),
    ('{"a":', {}),
    ('{"a": tr', {}),
    ('{"a": null', {"a": None}),
    ('{"a": false, "b": -1.5e', {"a": False}),
    ('{"a": "x", "b": 0', {"a": "x"}),
    ('{"a": "x", "b": 0,', {"a": "x", "b": 0}),
    ('[1, {"b": [', [1, {"b": []}]),
    ("[", []),
    ("", {}),
    (" \n\t\r ", {}),
    ('"unfinished', {}),
    ("tru", {}),
]


def test_snapshot_shows_only_completed_values() -> None:
    for text, expected in PARTIAL:
        for parser in (parse(text), parse(*text)):
            assert strict_eq(parser.snapshot().value, expected), text
            assert not parser.complete, text
            assert not parser.failed, text


def test_nothing_fed_is_an_empty_object() -> None:
    parser = PartialJSONParser()
    assert parser.snapshot().value == {}
    assert not parser.complete
    assert not parser.failed


def test_root_that_is_not_an_object_is_parsed() -> None:
    roots = ['"abc"', '"\\u00e9"', "true", "false", "null", "[1, 2]", "[]", "{}", "12 ", "-5e+2\n"]
    for text in roots:
        parser = parse(text)
        assert parser.complete, text
        assert strict_eq(parser.snapshot().value, json.loads(text)), text


def test_bare_root_number_is_complete_whenever_it_is_valid_so_far() -> None:
    parser = PartialJSONParser()
    values = []
    for fragment in ["-", "1", "2", ".", "5", "e", "1", " "]:
        parser.feed(fragment)
        values.append((parser.snapshot().value, parser.complete))
    assert values == [
        ({}, False),
        (-1, True),
        (-12, True),
        ({}, False),
        (-12.5, True),
        ({}, False),
        (-125.0, True),
        (-125.0, True),
    ]


def test_trailing_whitespace_keeps_the_document_complete() -> None:
    parser = parse('{"a": [1]}', " \n", "\t\r  ")
    assert parser.complete
    assert not parser.failed
    assert parser.snapshot().value == {"a": [1]}


def test_whitespace_between_every_token_is_accepted() -> None:
    text = ' \n{ \t"a" \r: \n[ 1 ,\ttrue , null , "x" ] ,\n "b" : { } , "c":-2.5E+3 }\n '
    parser = parse(*text)
    assert parser.complete
    assert strict_eq(parser.snapshot().value, json.loads(text))


def test_duplicate_keys_last_one_wins() -> None:
    text = '{"a": 1, "b": 2, "a": {"x": [3]}}'
    parser = parse(text)
    assert strict_eq(parser.snapshot().value, json.loads(text))
    assert parse('{"a": 1, "a": [').snapshot().value == {"a": []}


def test_numbers_convert_like_json_loads() -> None:
    for text in ["-0", "0", "1E5", "1e-5", "-1.5e-3", "2.0", "10", "1234567890" * 3, "1e400"]:
        for parser in (parse(f"[{text}]"), parse("[", *text, "]")):
            assert strict_eq(parser.snapshot().value, json.loads(f"[{text}]")), text


# -- strings --------------------------------------------------------------------------------

TRICKY = (
    '{"e\\u00e9": "a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\ud83d\\ude00\\udc00z", '
    '"raw": "caf\u00e9 \U0001f600 \u4e2d", "n": [-1.5e-3, 0, true, false, null, 12]}'
)


def test_every_two_way_split_of_escapes_unicode_numbers_and_literals() -> None:
    expected = json.loads(TRICKY)
    for a, b in itertools.combinations(range(len(TRICKY) + 1), 2):
        parser = parse(TRICKY[:a], TRICKY[a:b], TRICKY[b:])
        assert parser.complete, (a, b)
        assert strict_eq(parser.snapshot().value, expected), (a, b)


def test_one_character_at_a_time() -> None:
    parser = parse(*TRICKY)
    assert parser.complete
    assert strict_eq(parser.snapshot().value, json.loads(TRICKY))


def test_raw_control_characters_in_strings_are_accepted_like_non_strict_json() -> None:
    text = '{"a": "line1\nline2\ttab\x00", "b\rkey": "x\\n\ny"}'
    parser = parse(*text)
    assert parser.complete
    assert parser.snapshot().value == json.loads(text, strict=False)


def test_long_unescaped_and_escaped_strings_across_many_fragments() -> None:
    plain = "abc \u00e9 " * 500
    escaped = 'q"\\\n\u2028' * 300
    text = json.dumps({"plain": plain, "escaped": escaped})
    parser = parse(*(text[i : i + 7] for i in range(0, len(text), 7)))
    assert parser.snapshot().value == {"plain": plain, "escaped": escaped}


# -- failure ------------------------------------------------------------------------------------


INVALID = [
    '{"a" 1',
    '{"a": 01}',
    "[1.]",
    "[.5]",
    "[+1]",
    "[-]",
    "[1e]",
    "[1.5.5]",
    "[1e5e5]",
    "[--1]",
    '{"a": 1}x',
    '{"a": 1}}',
    "[1] [2]",
    '{"a": tru}',
    '{"a": trux}',
    "[truee]",
    '{"a": "x\\qy"}',
    '["\\u12G4"]',
    "[1,]",
    '{"a": 1,}',
    "{,}",
    "[,1]",
    "[1 2]",
    '{"a": 1]',
    "[1}",
    "}",
    "]",
    ":",
    "{1: 2}",
    "{'a': 1}",
    "[NaN]",
    "[Infinity]",
    "[-Infinity]",
    "\ufeff{}",
    '{"a": "b" "c"}',
]


def test_invalid_json_fails_whole_or_in_pieces() -> None:
    for text in INVALID:
        with pytest.raises(ValueError):
            json.loads(text, parse_constant=_reject)
        for parser in (parse(text), parse(*text)):
            assert parser.failed, text
            assert not parser.complete, text


def test_integer_longer_than_python_allows_fails_like_json_loads() -> None:
    with pytest.raises(ValueError):
        json.loads("[" + "1" * 5000 + "]")
    for fragments in (["[", "1" * 5000, "]"], ["[", "1" * 2500, "1" * 2500, "]"]):
        parser = parse(*fragments)
        assert parser.failed
        assert parser.snapshot().value == []


def _reject(name: str) -> Any:
    raise ValueError(name)


def test_after_failure_input_is_ignored_and_the_snapshot_is_kept() -> None:
    parser = parse('{"a": 1, "b": [true, ')
    before = parser.snapshot()
    assert not parser.feed("}")
    assert parser.failed
    assert not parser.feed('"c": 2}')
    assert parser.snapshot() is before
    assert before.value == {"a": 1, "b": [True]}


def test_garbage_after_the_root_keeps_the_root_value_but_fails() -> None:
    parser = parse('{"a": [1]} ', "x")
    assert parser.failed
    assert not parser.complete
    assert parser.snapshot().value == {"a": [1]}


def test_a_number_cut_short_by_a_bad_character_is_not_shown() -> None:
    cases = [
        ('{"a": 0x10', {}),
        ('{"a": 1, "b": 2x', {"a": 1}),
        ('{"a": [1, 23abc', {"a": [1]}),
        ('{"a": 1]', {}),
        ("[1}", []),
        ("[1 x", [1]),  # the 1 was finished by the space before the bad character
        ("12x", {}),
        ("-1.5e3-", {}),
    ]
    for text, expected in cases:
        for parser in (parse(text), parse(*text)):
            assert parser.failed, text
            assert strict_eq(parser.snapshot().value, expected), text


def test_a_bare_root_number_is_no_longer_shown_once_the_text_fails() -> None:
    parser = parse("12")
    assert parser.snapshot().value == 12
    parser.feed("x")
    assert parser.failed
    assert parser.snapshot().value == {}


# -- feed() result, snapshot identity and laziness -------------------------------------------


def test_feed_reports_structural_changes_and_snapshot_is_reused_otherwise() -> None:
    parser = PartialJSONParser()
    first = parser.snapshot()
    assert parser.snapshot() is first
    steps = [
        ("  ", False),
        ("{", True),  # a container opened
        ('"ke', False),
        ('y"', True),  # a key completed
        (" : ", False),
        ('"val', False),
        ('ue"', True),  # a value completed
        (", ", False),
        ('"n": 4', True),  # the key; the number waits for a delimiter
        ("2", False),
        ("}", True),
    ]
    previous = first
    for fragment, changed in steps:
        assert parser.feed(fragment) is changed, fragment
        current = parser.snapshot()
        assert (current is not previous) is changed, fragment
        previous = current
    assert previous.value == {"key": "value", "n": 42}


def test_snapshot_value_is_cached() -> None:
    snapshot = parse('{"a": [1, {"b": 2}], "c": {').snapshot()
    assert snapshot.value is snapshot.value


def test_open_containers_are_read_only_views_sharing_the_parsers_lists() -> None:
    parser = parse('{"a": 1, "b": [1, 2')
    first = parser.snapshot().value
    parser.feed(', 3, {"c": 4}, ')
    second = parser.snapshot().value
    assert isinstance(first, PartialObject) and isinstance(first["b"], PartialArray)
    # Reading a snapshot copies nothing: both views look at the same append-only lists.
    assert first._entries is second._entries and first["b"]._items is second["b"]._items
    assert first == {"a": 1, "b": [1]} and second == {"a": 1, "b": [1, 2, 3, {"c": 4}]}
    assert second["b"][3] is parser.snapshot().value["b"][3]  # finished members are shared
    assert type(plain(second)) is dict and type(plain(second)["b"]) is list
    assert first.to_dict() == {"a": 1, "b": [1]} and first["b"].to_list() == [1]
    assert repr(first) == "{'a': 1, 'b': [1]}"
    with pytest.raises(TypeError):
        first["z"] = 1  # type: ignore[index]


def test_views_behave_like_the_dicts_and_lists_they_show() -> None:
    # Duplicate keys included: the last value wins at the first key's position, like json.loads.
    text = '{"a": 1, "b": [1, [2, 3], {"x": 1, "x": 2}], "a": 3, "c": {"d": [4, {"e": 5}]}, "b": 0}'
    for end in range(len(text) + 1):
        value = parse(text[:end]).snapshot().value
        expected = plain(value)
        _check_view(value, expected)


def _check_view(view: Any, expected: Any) -> None:
    assert view == expected and expected == view
    assert repr(view) == repr(expected)
    if isinstance(expected, dict):
        assert len(view) == len(expected)
        assert list(view) == list(expected) and list(view.items()) == list(expected.items())
        assert all(key in view for key in expected) and "missing" not in view and 1 not in view
        with pytest.raises(KeyError):
            view["missing"]
        for key in expected:
            _check_view(view[key], expected[key])
    elif isinstance(expected, list):
        assert len(view) == len(expected)
        assert list(view) == expected and view[:] == expected and view[::-1] == expected[::-1]
        if expected:
            assert view[-1] == expected[-1]
        with pytest.raises(IndexError):
            view[len(expected)]
        for item, want in zip(view, expected, strict=True):
            _check_view(item, want)


def test_old_snapshots_do_not_change_as_more_text_arrives() -> None:
    parser = parse('{"a": [1, ')
    early = parser.snapshot()
    parser.feed('2, 3], "b": {"c": 1')
    middle = parser.snapshot()
    parser.feed(', "d": 2}, "e": [4]}')
    assert early.value == {"a": [1]}
    assert middle.value == {"a": [1, 2, 3], "b": {}}
    assert parser.snapshot().value == {"a": [1, 2, 3], "b": {"c": 1, "d": 2}, "e": [4]}


def test_deep_nesting_needs_no_recursion() -> None:
    depth = 20_000
    parser = parse("[" * depth)
    value = parser.snapshot().value
    for _ in range(depth - 1):
        assert len(value) == 1
        value = value[0]
    assert value == []
    parser.feed("]" * depth)
    assert parser.complete


# -- property tests -------------------------------------------------------------------------

# Characters json.dumps escapes or encodes specially, including lone surrogates.
_interesting_chars = st.sampled_from(list('"\\/\b\f\n\r\t\x00\x1f\u00e9\u2028\U0001f600\ud800\udfff'))
_json_text = st.text(st.one_of(st.characters(exclude_categories=()), _interesting_chars))
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _json_text
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_json_text, children, max_size=5),
    max_leaves=25,
)
_containers = st.one_of(
    st.lists(_json_values, max_size=5), st.dictionaries(_json_text, _json_values, max_size=5)
)


@st.composite
def _dumped(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> tuple[str, list[str]]:
    text = json.dumps(
        draw(values),
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":")])),
    )
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=len(text) // 2 + 1)))
    else:  # small fragments everywhere, like a token stream
        cuts = list(range(0, len(text), draw(st.integers(1, 4))))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(derandomize=True, max_examples=150, deadline=None)
@given(_dumped(_json_values))
def test_any_split_of_any_json_parses_to_what_json_loads_gives(
    case: tuple[str, list[str]],
) -> None:
    text, fragments = case
    parser = parse(*fragments)
    assert parser.complete
    assert not parser.failed
    assert strict_eq(parser.snapshot().value, json.loads(text))


@settings(derandomize=True, max_examples=100, deadline=None)
@given(_dumped(_containers))
def test_every_intermediate_snapshot_is_a_prefix_of_the_final_value(
    case: tuple[str, list[str]],
) -> None:
    text, fragments = case
    final = json.loads(text)
    parser = PartialJSONParser()
    previous = parser.snapshot()
    fed = 0
    for fragment in fragments:
        changed = parser.feed(fragment)
        fed += len(fragment)
        snapshot = parser.snapshot()
        assert (snapshot is not previous) is changed
        if text[:fed].strip():
            assert is_prefix(snapshot.value, final), (text[:fed], snapshot.value)
        else:  # before the root opens, even an array root shows as "nothing yet"
            assert snapshot.value == {}
        assert parser.complete is (fed == len(text))
        previous = snapshot
    assert strict_eq(previous.value, final)


_near_json = st.lists(
    st.sampled_from(
        ["{", "}", "[", "]", ":", ",", '"a"', '"b\\u00e9"', '"\\q"', '"', "\\", "1", "-", "0"]
        + [".5", "e3", "E-", "true", "fals", "null", " ", "\n", "x", "NaN"]
    ),
    max_size=12,
).map("".join)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_near_json, st.integers(1, 5))
def test_agrees_with_json_loads_on_arbitrary_token_soup(text: str, size: int) -> None:
    try:
        expected = json.loads(text, strict=False, parse_constant=_reject)
    except (ValueError, RecursionError):
        expected = _reject
    parser = parse(*(text[i : i + size] for i in range(0, len(text), size)))
    assert parser.complete is (expected is not _reject)
    if parser.complete:
        assert strict_eq(parser.snapshot().value, expected)
    if parser.failed:  # then no continuation can fix it: in particular not closing brackets
        for closing in ("", "]", "}", '"}', "]}", "}]", "]]", "}}"):
            with pytest.raises(ValueError):
                json.loads(text + closing, strict=False, parse_constant=_reject)
