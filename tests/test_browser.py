"""The aiohttp chat example in a real headless Chromium: ask, watch the answer and the tool call.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and ``selenium``; nothing is downloaded. CI installs them and this
test must pass there: with ``CI=true`` (or ``ACLARIFAI_REQUIRE_BROWSER=1``) anything missing is a
failure. On a developer machine without Chromium the test is skipped, saying what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from .example_servers import chat_server

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "aiohttp_chat" / "app.py"
CHROMIUM = os.environ.get("ACLARIFAI_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ACLARIFAI_CHROMEDRIVER", "/usr/bin/chromedriver")
QUESTION = "What's the weather in Paris?"
STARTUP_TIMEOUT = 30  # seconds to start the server
PAGE_TIMEOUT = 30  # seconds for the answer to appear (it takes well under one)

RECORDER = """
window.seenArgs = []; window.seenAnswers = [];
new MutationObserver(() => {
  const watched = [[".tool-call .args", window.seenArgs], [".message.assistant .text", window.seenAnswers]];
  for (const [selector, seen] of watched) {
    const node = document.querySelector(selector);
    if (node && seen[seen.length - 1] !== node.textContent) seen.push(node.textContent);
  }
}).observe(document.getElementById("messages"), {childList: true, subtree: true, characterData: true});
"""

REQUIRED = os.environ.get("CI") == "true" or os.environ.get("ACLARIFAI_REQUIRE_BROWSER") == "1"


def _missing(message: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message + " (required when CI=true)")


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium driven through Debian's chromedriver (never a downloaded browser)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed: pip install -e '.[test]'")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            _missing(f"{path} not found: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1000,760",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def ask_in_the_page(url: str, profile: Path, screenshot: Path) -> dict[str, Any]:
    """Type the question, send it, wait for the answer; return what the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium(profile) as driver:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        driver.get(url)
        # Record every text the tool call's arguments and the answer show, as they change.
        driver.execute_script(RECORDER)
        driver.find_element(By.ID, "input").send_keys(QUESTION)
        driver.find_element(By.ID, "send").click()
        WebDriverWait(driver, PAGE_TIMEOUT).until(
            lambda d: d.execute_script(
                "const m = document.querySelector('.message.assistant');"
                "return m !== null && m.dataset.state !== 'streaming'"
                " && document.body.dataset.state === 'idle';"
            )
        )
        driver.save_screenshot(str(screenshot))

        def texts(selector: str) -> list[str]:
            return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]

        return {
            "state": driver.find_element(By.CSS_SELECTOR, ".message.assistant").get_attribute("data-state"),
            "user": texts(".message.user"),
            "answer": texts(".message.assistant .text"),
            "names": texts(".tool-call .name"),
            "args": texts(".tool-call .args"),
            "results": texts(".tool-call .result"),
            "usage": texts(".message.assistant .usage"),
            "status": driver.find_element(By.ID, "status").text,
            "send_enabled": driver.find_element(By.ID, "send").is_enabled(),
            "console": [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")],
            "seen_args": driver.execute_script("return window.seenArgs;"),
            "seen_answers": driver.execute_script("return window.seenAnswers;"),
        }


async def test_the_chat_page_streams_the_answer_and_the_tool_call(tmp_path: Path) -> None:
    screenshot = tmp_path / "aclarifai-chat.png"
    async with chat_server(APP, STARTUP_TIMEOUT) as url:
        page = await asyncio.to_thread(ask_in_the_page, url, tmp_path / "profile", screenshot)
    print(f"screenshot: {screenshot}")

    assert page["state"] == "done", page
    assert page["user"] == [QUESTION]
    assert page["names"] == ["get_weather"]
    assert "Paris" in page["args"][0]
    assert '"temperature":21' in page["results"][0] and '"conditions":"sunny"' in page["results"][0]
    assert page["answer"] and page["answer"][-1].startswith("Using get_weather:")
    assert page["usage"] and page["usage"][0].endswith("tokens")
    assert page["status"] == "Done." and page["send_enabled"]
    assert page["console"] == []
    # Streamed, not printed at the end: the arguments and the answer were seen growing.
    partial_arguments = [text for text in page["seen_args"] if text and not text.endswith("}")]
    assert partial_arguments and page["seen_args"][-1] == '{"location":"Paris"}', page["seen_args"]
    assert len(page["seen_answers"]) >= 2 and page["seen_answers"][0] == "Using", page["seen_answers"]
    assert screenshot.stat().st_size > 0
