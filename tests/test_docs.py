"""Every Python code block of every docs page runs, offline, so the docs cannot rot.

How blocks run:
- A page's ```` ```python ```` blocks run in order in one module namespace (a real module named
  ``aclarifai_docs_<page>``), compiled with ``dont_inherit=True``; indented blocks (inside tabs
  or admonitions) count too. Top-level ``await`` is allowed and runs on the page's event loop;
  ``asyncio.run(...)`` in a block works as in a script.
- Offline: ``CLARIFAI_PAT`` and ``CLARIFAI_API_BASE`` point at a ``FakeClarifai`` served from a
  background thread, so code that builds its clients from the environment reaches the fake (and
  its demo model answers). That fake is also in the namespace as ``fake``, for fragments that
  script replies (``fake.add_text(...)``).
- A function named ``test_*`` that a block defines is run like pytest would, with the fixtures
  the docs describe: ``fake`` (a fresh FakeClarifai), ``client`` (an AsyncClarifai on it),
  ``monkeypatch`` and ``tmp_path``.
- A block preceded by ``<!-- docs-test: skip REASON -->`` is skipped, with that reason shown.
  Keep those for code that cannot run here (another library's code, the real API).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import os
import re
import subprocess
import sys
import threading
import types
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from aclarifai import AsyncClarifai
from aclarifai.testing import FakeClarifai

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s+(?P<reason>.+?)\s*-->")
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = inspect.CO_COROUTINE


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    source: str
    skip: str | None
    end: int = 0  # 1-based line of the closing fence

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def extract_blocks(page: Path) -> list[Block]:
    """The page's ``python`` fenced blocks, dedented, with any skip marker right above them."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    position = 0
    while position < len(lines):
        opening = _FENCE.match(lines[position])
        if opening is None:
            position += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        language = opening["info"].split()[0].lower() if opening["info"].strip() else ""
        body: list[str] = []
        end = position + 1
        while end < len(lines) and not _closes(lines[end], fence):
            line = lines[end]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            end += 1
        if language in ("python", "py", "python3"):
            previous = next((lines[i] for i in range(position - 1, -1, -1) if lines[i].strip()), "")
            marker = _SKIP.search(previous)
            blocks.append(Block(page.name, position + 1, "\n".join(body) + "\n",
                                marker["reason"] if marker else None, end + 1))
        position = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}


PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [block for page in PAGES for block in extract_blocks(page)]


# -- the offline world the blocks run in --------------------------------------------------------


class ThreadedFake:
    """A FakeClarifai served by an event loop of its own, in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="docs fake", daemon=True)
        self.thread.start()
        self.fake: FakeClarifai = self.call(FakeClarifai().start())

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        self.call(self.fake.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@dataclass
class Page:
    module: types.ModuleType
    loop: asyncio.AbstractEventLoop
    failed: str | None = None
    done: list[int] = field(default_factory=list)


class World:
    """The shared fake and, for each page, its module namespace and event loop."""

    def __init__(self, served: ThreadedFake) -> None:
        self.served = served
        self.pages: dict[str, Page] = {}

    def page(self, name: str) -> Page:
        if name not in self.pages:
            module_name = "aclarifai_docs_" + re.sub(r"\W", "_", Path(name).stem)
            module = types.ModuleType(module_name, f"The code blocks of docs/{name}.")
            module.__dict__.update(__builtins__=builtins, fake=self.served.fake)
            sys.modules[module_name] = module  # dataclasses and typing look their module up
            self.served.fake.reset()  # no scripted reply left over from the page before
            self.pages[name] = Page(module, asyncio.new_event_loop())
        return self.pages[name]

    def close(self) -> None:
        for page in self.pages.values():
            with contextlib.suppress(Exception):
                page.loop.run_until_complete(page.loop.shutdown_asyncgens())
            page.loop.close()
            sys.modules.pop(page.module.__name__, None)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    served = ThreadedFake()
    world = World(served)
    try:
        yield world
    finally:
        world.close()
        served.close()


# -- running one block --------------------------------------------------------------------------


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_block(block: Block, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if block.skip is not None:
        pytest.skip(f"marked in the page: {block.skip}")
    page = world.page(block.page)
    if page.failed is not None:
        pytest.skip(f"an earlier block of {block.page} failed ({page.failed})")
    fake = world.served.fake
    monkeypatch.setenv("CLARIFAI_PAT", fake.api_key)
    monkeypatch.setenv("CLARIFAI_API_BASE", fake.base_url)
    monkeypatch.chdir(ROOT)  # blocks may name repository files (tests/fixtures/...)
    namespace = page.module.__dict__
    if not isinstance(namespace.get("fake"), FakeClarifai):
        namespace["fake"] = fake  # e.g. the page defined a pytest fixture of that name
    filename = str(DOCS / block.page)  # tracebacks then show the page's own lines
    page.failed = block.id  # until it succeeds
    source = "\n" * block.line + block.source  # line numbers are the page's
    code = compile(source, filename, "exec", flags=_TOP_LEVEL_AWAIT, dont_inherit=True)
    if code.co_flags & _CO_COROUTINE:
        page.loop.run_until_complete(eval(code, namespace))
    else:
        exec(code, namespace)
    for name, function in list(namespace.items()):
        if name.startswith("test") and inspect.isfunction(function) and _defined_in(function, block):
            run_documented_test(function, page.loop, tmp_path)
    page.failed = None
    page.done.append(block.line)


def _defined_in(function: Any, block: Block) -> bool:
    code = function.__code__
    return bool(code.co_filename == str(DOCS / block.page) and block.line < code.co_firstlineno < block.end)


def run_documented_test(function: Any, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    """Call a ``test_*`` function from the docs with the fixtures it asks for."""
    wanted = list(inspect.signature(function).parameters)
    known = {"fake", "client", "monkeypatch", "tmp_path"}
    unknown = set(wanted) - known
    assert not unknown, f"{function.__name__} asks for fixtures the docs test does not provide: {unknown}"

    async def call() -> None:
        async with _fixtures(wanted, tmp_path) as kwargs:
            result = function(**kwargs)
            if inspect.isawaitable(result):
                await result

    loop.run_until_complete(call())


@contextlib.asynccontextmanager
async def _fixtures(wanted: list[str], tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with contextlib.AsyncExitStack() as stack:
        values: dict[str, Any] = {"tmp_path": tmp_path}
        if "fake" in wanted or "client" in wanted:
            values["fake"] = server = await stack.enter_async_context(FakeClarifai())
            if "client" in wanted:
                values["client"] = await stack.enter_async_context(
                    AsyncClarifai(api_key=server.api_key, base_url=server.base_url)
                )
        if "monkeypatch" in wanted:
            values["monkeypatch"] = stack.enter_context(pytest.MonkeyPatch.context())
        yield {name: values[name] for name in wanted}


# -- the site -----------------------------------------------------------------------------------


def _nav_files(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def test_the_nav_lists_every_page_once() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = [f for f in _nav_files(config["nav"]) if f.endswith(".md")]
    assert sorted(listed) == sorted(p.name for p in PAGES)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict`` into a temporary directory, once for the checks below: every
    page in the nav, no broken link or anchor, the API reference rendered from the docstrings
    (offline)."""
    site = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site


def _article(html: str) -> str:
    """The page's own content (Material puts it in the one ``<article>``)."""
    start = html.index("<article")
    return html[start : html.index("</article>", start)]


def _page_html(site: Path, page: Path) -> str:
    folder = site if page.stem == "index" else site / page.stem
    return (folder / "index.html").read_text(encoding="utf-8")


def test_the_site_builds_strict(site: Path) -> None:
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="aclarifai.web.aiohttp_sse_response"' in reference


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_each_page_has_one_h1(site: Path, page: Path) -> None:
    """A second H1 drops the rest of the page from its table of contents."""
    article = _article(_page_html(site, page))
    assert article.count("<h1") == 1, re.findall(r"<h1[^>]*>.*?</h1>", article, re.S)


def test_api_entries_render_examples_as_code(site: Path) -> None:
    """``>>>`` examples are code blocks, not Markdown blockquotes nested three deep, and no
    Sphinx role is left raw."""
    reference = _article((site / "reference" / "index.html").read_text(encoding="utf-8"))
    entries = reference.split('class="doc doc-contents')[1:]
    assert entries, "no API entry rendered"
    quoted = [e[:300] for e in entries if "<blockquote" in e.split("doc doc-contents")[0]]
    assert not quoted, quoted
    assert "<blockquote" not in reference
    assert '<span class="gp">&gt;&gt;&gt; </span>' in reference  # highlighted as a session
    for role in (":class:`", ":attr:`", ":data:`", ":func:`", ":meth:`", ":exc:`"):
        assert role not in reference


# Instances the README's snippets call methods on, and the class documenting them.
_README_INSTANCES = {
    "client": "aclarifai.AsyncClarifai",
    "stream": "aclarifai.CompletionStream",
    "agent": "aclarifai.Agent",
    "result": "aclarifai.AgentResult",
    "fake": "aclarifai.testing.FakeClarifai",
    "get_weather": "aclarifai.Tool",
}


def readme_names() -> set[str]:
    """Every aclarifai name the README's code uses, as a reference id: ``aclarifai.X...``,
    names imported from aclarifai, and the first attribute of the instances above."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", readme, re.S))
    code += "\n" + "\n".join(re.findall(r"`([^`\n]+)`", readme))  # inline code too
    names = {m for m in re.findall(r"\baclarifai(?:\.[A-Za-z_]\w*)+", code)
             if not m.endswith((".py", ".md"))}
    for module, imported in re.findall(r"^from (aclarifai(?:\.\w+)*) import ([\w, ]+)$", code, re.M):
        names |= {f"{module}.{name.strip()}" for name in imported.split(",")}
    for instance, owner in _README_INSTANCES.items():
        names |= {f"{owner}.{attr}" for attr in re.findall(rf"\b{instance}\.([a-z_]\w*)", code)}
    return names


def test_every_name_in_the_readme_is_in_the_reference(site: Path) -> None:
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="(aclarifai[\w.]*)"', reference))
    names = readme_names()
    assert {"aclarifai.web.aiohttp_sse_response", "aclarifai.AsyncClarifai.chat",
            "aclarifai.testing.FakeClarifai"} <= names  # the scan sees what it must
    missing = sorted(names - ids)
    assert not missing, missing
    chat = reference[reference.index('id="aclarifai.AsyncClarifai.chat"'):]
    assert "client.chat.completions.create" in chat[:3000]


def test_the_skips_are_rare_and_explained() -> None:
    skipped = [b for b in BLOCKS if b.skip is not None]
    assert len(skipped) * 5 <= len(BLOCKS), [b.id for b in skipped]
    assert all(len(b.skip or "") > 10 for b in skipped)


def test_the_extractor_reads_fences_as_written(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```python\nx = 1\n```\n\n=== \"Tab\"\n\n    ```python\n    if x:\n        y = 2\n    ```\n\n"
        "<!-- docs-test: skip needs the real API -->\n```python\nz = 3\n```\n\n"
        "````markdown\n```python\nno\n```\n````\n\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(page)
    assert [(b.line, b.source, b.skip) for b in blocks] == [
        (3, "x = 1\n", None),
        (9, "if x:\n    y = 2\n", None),
        (15, "z = 3\n", "needs the real API"),
    ]
