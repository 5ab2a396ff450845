"""Model references: the spec sheet's table, and clear errors for anything else."""

from __future__ import annotations

import pytest

from aclarifai import resolve_model

CANONICAL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
PINNED = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b/versions/ba43503e1a2b"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (CANONICAL, CANONICAL),
        ("https://www.clarifai.com/openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        ("clarifai.com/openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        ("www.clarifai.com/openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        ("https://clarifai.com/openai/chat-completion/models/gpt-oss-20b/", CANONICAL),
        ("https://clarifai.com/openai/chat-completion/models/gpt-oss-20b?tab=versions", CANONICAL),
        ("http://clarifai.com/openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        (PINNED, PINNED),
        ("openai/chat-completion/models/gpt-oss-120b/versions/ba43503e1a2b", PINNED),
        ("openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        ("openai/https://clarifai.com/openai/chat-completion/models/gpt-oss-20b", CANONICAL),
        ("clarifai/openai.chat-completion.gpt-oss-20b", CANONICAL),
        (
            "https://clarifai.com/qwen/qwenLM/models/Qwen3-30B-A3B-Instruct-2507",
            "https://clarifai.com/qwen/qwenLM/models/Qwen3-30B-A3B-Instruct-2507",
        ),
    ],
)
def test_accepted_forms(ref: str, expected: str) -> None:
    assert resolve_model(ref) == expected


def test_ids_keep_their_case() -> None:
    assert resolve_model("Meta/Llama-3/models/Llama-3_2-3B") == (
        "https://clarifai.com/Meta/Llama-3/models/Llama-3_2-3B"
    )


@pytest.mark.parametrize(
    "ref",
    [
        "gpt-4o",
        "",
        "openai/gpt-oss-20b",
        "https://example.com/openai/chat-completion/models/gpt-oss-20b",
        "https://clarifai.com/openai/chat-completion/gpt-oss-20b",
        "https://clarifai.com/openai/chat-completion/models/x/versions/v/extra",
        "clarifai/openai.gpt-oss-20b",
    ],
)
def test_anything_else_lists_the_accepted_forms(ref: str) -> None:
    with pytest.raises(ValueError, match="accepted model forms") as info:
        resolve_model(ref)
    assert "clarifai/{user}.{app}.{model}" in str(info.value)


def test_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        resolve_model(42)  # type: ignore[arg-type]


def test_custom_ui_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARIFAI_UI", "https://web.example.org")
    assert resolve_model("a/b/models/c") == "https://web.example.org/a/b/models/c"
    assert resolve_model("https://web.example.org/a/b/models/c") == (
        "https://web.example.org/a/b/models/c"
    )
