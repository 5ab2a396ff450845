"""Partial tool arguments: feeding them alone vs also reading every snapshot.

``python -m benchmarks.partial_json``. One flat JSON object (the worst case for copying
snapshots: every member sits in the one open container) is cut into fragments the size of
model tokens and fed to :class:`~aclarifai._partial_json.PartialJSONParser`. "feed" only feeds;
"feed + read" also reads the value of the snapshot after every fragment, as a UI reading
``ToolCallArgumentsDelta.parsed_so_far`` on every event does. Reported: ms per document, best
of ``--repeat`` (the run least disturbed by other work on a shared machine), and the ratio of
the two measured in the same run; the target is a ratio of at most 3 at 200 KB.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from aclarifai._partial_json import PartialJSONParser

TARGET_RATIO = 3.0


def flat_document(size: int, seed: int = 0) -> str:
    """A flat object of about ``size`` characters: short keys, strings, numbers, literals."""
    rng = random.Random(seed)
    members: dict[str, object] = {}
    length = 2
    while length < size:
        key = f"field_{len(members)}"
        value = rng.choice([rng.randint(-(10**6), 10**6), f"text {rng.random():.6f}", True, None, 2.5])
        members[key] = value
        length += len(json.dumps({key: value})) - 2 + 2
    return json.dumps(members)


def fragments(text: str, seed: int = 0) -> list[str]:
    """Cut ``text`` into pieces of 1 to 8 characters, like a model's argument deltas."""
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(text):
        step = rng.randint(1, 8)
        pieces.append(text[i : i + step])
        i += step
    return pieces


def feed_only(pieces: list[str]) -> None:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
    assert parser.complete


def feed_and_read(pieces: list[str]) -> None:
    parser = PartialJSONParser()
    for piece in pieces:
        parser.feed(piece)
        parser.snapshot().value  # noqa: B018 -- reading it is the point
    assert parser.complete


def _best(fn: Callable[[list[str]], None], pieces: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(pieces)
        best = min(best, time.perf_counter() - started)
    return best


def measure(size: int, repeat: int) -> tuple[float, float, int]:
    """(feed seconds, feed + read seconds, number of fragments) for a document of ``size``."""
    pieces = fragments(flat_document(size))
    # Alternate the two so drift of a busy machine spreads over both.
    feed = read = float("inf")
    for _ in range(repeat):
        feed = min(feed, _best(feed_only, pieces, 1))
        read = min(read, _best(feed_and_read, pieces, 1))
    return feed, read, len(pieces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    args = parser.parse_args(argv)
    print(f"{'size':>9} {'fragments':>9} {'feed ms':>9} {'feed+read ms':>13} {'ratio':>6}")
    worst = 0.0
    for size in args.sizes:
        feed, read, count = measure(size, args.repeat)
        ratio = read / feed
        worst = max(worst, ratio) if size >= 200_000 else worst
        print(f"{size:>9} {count:>9} {feed * 1e3:>9.1f} {read * 1e3:>13.1f} {ratio:>5.2f}x")
    if worst:
        verdict = "PASS" if worst <= TARGET_RATIO else "FAIL"
        print(f"target: feed + read <= {TARGET_RATIO:g}x feed at 200 KB: {verdict} ({worst:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
