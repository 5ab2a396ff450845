"""Content parts for multimodal messages: ``image()`` and ``text()``.

>>> messages = [{"role": "user", "content": [text("What is in this picture?"), image("cat.png")]}]

``image()`` takes an https URL or a ``data:image/...;base64,`` URI (both passed through), or a
local file path or raw bytes, which are inlined as a data URI. The image type is read from the
file's first bytes, never from its name: a ``.png`` that is really a JPEG is sent as JPEG, and a
file that is no image fails here rather than as an opaque model error. Every check runs before
any request is made.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DEFAULT_MAX_IMAGE_BYTES", "SUPPORTED_IMAGE_TYPES", "image", "sniff_image_type", "text"]

DEFAULT_MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""The default bound on an inlined image's size, before base64 (which adds a third)."""

SUPPORTED_IMAGE_TYPES = (
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
    "image/heic", "image/heif", "image/avif",
)
_DETAILS = ("auto", "low", "high")
_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_BASE64_TAIL = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
# ISO base media (HEIF family) brands, from the "ftyp" box.
_AVIF_BRANDS = frozenset((b"avif", b"avis"))
_HEIC_BRANDS = frozenset((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"))
_HEIF_BRANDS = frozenset((b"mif1", b"msf1"))
# Sizes of the BMP info headers that exist (BITMAPCOREHEADER ... BITMAPV5HEADER): "BM" alone is
# too weak a signature, text files start with it too.
_BMP_HEADER_SIZES = frozenset((12, 16, 40, 52, 56, 64, 108, 124))
# What the first bytes of common non-images look like, to say more than "unsupported".
_NOT_IMAGES = (
    (b"%PDF", "a PDF document"),
    (b"<svg", "an SVG image (vector images are not accepted: render it to PNG)"),
    (b"<?xml", "an XML document (if it is SVG, render it to PNG)"),
    (b"PK\x03\x04", "a ZIP archive"),
)


def text(value: str) -> dict[str, Any]:
    """A text content part: ``{"type": "text", "text": value}``."""
    if not isinstance(value, str):
        raise TypeError(f"text() takes a str, not {type(value).__name__}")
    return {"type": "text", "text": value}


def image(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    detail: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
) -> dict[str, Any]:
    """An image content part: ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``.

    ``source`` is one of:

    - an ``https://`` URL, passed through (the model's server downloads it);
    - a ``data:image/<type>;base64,...`` URI, passed through;
    - a local path (``str`` or ``pathlib.Path``) or raw ``bytes``, inlined as a data URI whose
      type comes from the first bytes: PNG, JPEG, GIF, WebP, BMP, TIFF, HEIC/HEIF or AVIF.

    ``detail`` is ``"auto"``, ``"low"``, ``"high"`` or None (left out). Plain ``http://`` URLs are
    refused: Clarifai documents https URLs and data URIs only, and a server cannot fetch your
    machine's ``localhost``; read the file and pass its bytes instead. Raises ``ValueError`` for
    an image over ``max_bytes`` (applied to the raw bytes, or the decoded size of a data URI),
    an empty one, an unknown type or a bad URL; ``TypeError`` for another kind of ``source``;
    ``FileNotFoundError`` for a path that does not exist.
    """
    if detail is not None and detail not in _DETAILS:
        raise ValueError(f"detail must be one of {', '.join(_DETAILS)} or None, not {detail!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int, not {max_bytes!r}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        url = _inline(bytes(source), max_bytes, "the image")
    elif isinstance(source, str):
        url = _from_string(source, max_bytes)
    elif isinstance(source, os.PathLike):
        url = _from_path(Path(source), max_bytes)
    else:
        raise TypeError(
            "image() takes an https URL, a data: URI, a file path or bytes, "
            f"not {type(source).__name__}"
        )
    part: dict[str, Any] = {"url": url}
    if detail is not None:
        part["detail"] = detail
    return {"type": "image_url", "image_url": part}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type of an image from its first bytes, or None when it is not one we know."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"BM") and len(head) >= 18:
        if int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
            return "image/bmp"
    if head[4:8] == b"ftyp":
        return _heif_family(data)
    return None


def _heif_family(data: bytes) -> str | None:
    """AVIF, HEIC or generic HEIF, from the major and compatible brands of the ftyp box."""
    box_size = int.from_bytes(data[:4], "big")
    end = min(len(data), box_size if box_size >= 16 else 16, 256)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIC_BRANDS:
        return "image/heic"
    if brands & _HEIF_BRANDS:
        return "image/heif"
    return None


def _from_string(source: str, max_bytes: int) -> str:
    stripped = source.strip()
    if not stripped:
        raise ValueError("image() got an empty string")
    lowered = stripped[:8].lower()
    if lowered.startswith("data:"):
        return _check_data_uri(stripped, max_bytes)
    if lowered.startswith("https://"):
        if not urlsplit(stripped).hostname:
            raise ValueError(f"image URL has no host: {_short(stripped)!r}")
        return stripped
    if lowered.startswith("http://"):
        raise ValueError(
            f"refusing plain http image URL {_short(stripped)!r}: Clarifai accepts https URLs "
            "and data: URIs; use https, or download the image and pass its bytes or path"
        )
    scheme = urlsplit(stripped).scheme
    if len(scheme) > 1 and "://" in stripped:  # one letter is a Windows drive: C:\...
        raise ValueError(
            f"unsupported image URL scheme {scheme!r}: pass an https URL, a data: URI, "
            "a file path or bytes"
        )
    return _from_path(Path(source), max_bytes)


def _from_path(path: Path, max_bytes: int) -> str:
    if not path.exists():
        raise FileNotFoundError(
            f"no such image file: {str(path)!r} (image() takes an https URL, a data: URI, "
            "a file path or bytes)"
        )
    if not path.is_file():
        raise ValueError(f"not a file: {str(path)!r}")
    size = path.stat().st_size
    _check_size(size, max_bytes, str(path))  # before reading: never load a huge file to refuse it
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)  # the file may have grown since stat()
    return _inline(data, max_bytes, str(path))


def _inline(data: bytes, max_bytes: int, what: str) -> str:
    if not data:
        raise ValueError(f"{what} is empty (0 bytes)")
    _check_size(len(data), max_bytes, what)
    kind = sniff_image_type(data)
    if kind is None:
        raise ValueError(f"{what} is not a supported image: {_describe(data)}")
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _check_size(size: int, max_bytes: int, what: str) -> None:
    if size > max_bytes:
        raise ValueError(
            f"{what} is {size:,} bytes, over the max_bytes={max_bytes:,} bound "
            f"({_mib(max_bytes)}); downscale it, or pass a larger max_bytes= if the model takes it"
        )


def _check_data_uri(uri: str, max_bytes: int) -> str:
    match = _DATA_URI.match(uri)
    if match is None:
        raise ValueError(
            f"data: URI must look like data:image/<type>;base64,<data>, got {_short(uri)!r}"
        )
    payload = uri[match.end() :]
    if not payload or not _BASE64_TAIL.match(payload):
        raise ValueError("data: URI payload is empty or not base64")
    decoded = len(payload) * 3 // 4 - payload.count("=")  # exact, without decoding it
    _check_size(decoded, max_bytes, "the data: URI image")
    return uri


def _describe(data: bytes) -> str:
    for magic, name in _NOT_IMAGES:
        if data[:64].lstrip()[: len(magic)].lower() == magic.lower():
            return f"it looks like {name}"
    kinds = ", ".join(t.removeprefix("image/") for t in SUPPORTED_IMAGE_TYPES)
    return f"its first bytes are {data[:8].hex(' ')} (supported: {kinds})"


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
