"""The package face is a contract: every public name, and nothing private, is exported."""

from __future__ import annotations

import subprocess
import sys

import aclarifai


def test_all_is_sorted_and_importable() -> None:
    names = aclarifai.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(aclarifai, name) is not None, name
        assert not name.startswith("_") or name == "__version__"


def test_public_objects_are_exported() -> None:
    public = {
        name for name, value in vars(aclarifai).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("aclarifai")
    }
    assert public <= set(aclarifai.__all__), public - set(aclarifai.__all__)


def test_version() -> None:
    from aclarifai._version import __version__

    assert aclarifai.__version__ == __version__
    parts = __version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_import_is_light() -> None:
    """``import aclarifai`` must not pull in jsonschema (about 100 ms): it is imported lazily."""
    code = "import sys, aclarifai; print('jsonschema' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_web_and_testing_are_reachable_lazily_after_a_plain_import() -> None:
    """``aclarifai.web.aiohttp_sse_response`` works after ``import aclarifai`` (as the README
    writes it), without importing the relay, or any web framework, before it is used."""
    code = (
        "import sys, aclarifai\n"
        "before = [m in sys.modules for m in ('aclarifai.web', 'aclarifai.testing')]\n"
        "relay, fake = aclarifai.web.aiohttp_sse_response, aclarifai.testing.FakeClarifai\n"
        "print(before, relay.__module__, fake.__module__,\n"
        "      [m in sys.modules for m in ('starlette', 'fastapi', 'uvicorn')])\n"
        "assert 'web' in dir(aclarifai)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == (
        "[False, False] aclarifai.web aclarifai.testing [False, False, False]"
    )
