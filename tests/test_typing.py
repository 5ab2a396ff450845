"""The user programs of ``tests/typing/`` type-check under ``mypy --strict`` and run.

mypy runs from a temporary directory, so ``aclarifai`` can only come from the installed package
(editable, with the README's test command): this is what a user's type checker sees. .ci/run
does the same against a wheel installed in a separate environment.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

TYPING = Path(__file__).resolve().parent / "typing"
CONFIG = TYPING / "mypy.ini"
PROGRAMS = sorted(TYPING.glob("*.py"))
CACHE = Path(__file__).resolve().parent.parent / ".mypy_cache" / "typing-harness"


def run_mypy(cwd: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """mypy on ``paths``, all inside ``cwd``: a directory outside the checkout, like a user's."""
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--cache-dir", str(CACHE),
         *(str(p.relative_to(cwd)) for p in paths)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )


def test_user_programs_pass_mypy_strict(tmp_path: Path) -> None:
    # Copied out of the checkout: next to tests/__init__.py, mypy would take them for part of
    # a package rooted at the checkout and read aclarifai from the source tree.
    assert PROGRAMS, "tests/typing/ has no programs"
    copies = []
    for program in PROGRAMS:
        copy = tmp_path / program.name
        copy.write_text(program.read_text())
        copies.append(copy)
    result = run_mypy(tmp_path, *copies)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no issues found in {len(copies)} source files" in result.stdout


def test_mypy_sees_the_real_types(tmp_path: Path) -> None:
    """A wrong assert_type fails: aclarifai's types are seen, not Any from a missing import."""
    program = tmp_path / "wrong.py"
    program.write_text(
        "from typing import assert_type\n"
        "import aclarifai\n"
        "async def f() -> None:\n"
        "    completion = await aclarifai.acompletion(model='m', messages=[])\n"
        "    assert_type(completion, aclarifai.CompletionStream)\n"
        "    aclarifai.acompletion(model='m', messages=[], temprature=0.5)\n"
    )
    result = run_mypy(tmp_path, program)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Expression is of type "ChatCompletion", not "CompletionStream"' in result.stdout
    assert 'did you mean "temperature"?' in result.stdout
    assert "import-not-found" not in result.stdout and "import-untyped" not in result.stdout



@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_user_program_runs(program: Path) -> None:
    """Each program is a real one: it runs offline against FakeClarifai."""
    runpy.run_path(str(program), run_name="__main__")
