"""aclarifai.media: content parts for images and text, checked before any request."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from aclarifai import AsyncClarifai
from aclarifai.media import DEFAULT_MAX_IMAGE_BYTES, image, sniff_image_type, text
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(20)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
GIF = b"GIF89a" + bytes(20)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20)
BMP = b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(20)
TIFF_LE = b"II*\x00" + bytes(20)
TIFF_BE = b"MM\x00*" + bytes(20)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + bytes(16)


def decoded(part: dict[str, object]) -> tuple[str, bytes]:
    url = part["image_url"]["url"]  # type: ignore[index]
    head, _, payload = url.partition(",")
    return head, base64.b64decode(payload)


# -- type sniffing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a" + bytes(10), "image/gif"),
        (WEBP, "image/webp"),
        (BMP, "image/bmp"),
        (TIFF_LE, "image/tiff"),
        (TIFF_BE, "image/tiff"),
        (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
        (ftyp(b"mif1", b"avif"), "image/avif"),  # AVIF announced as a compatible brand
        (ftyp(b"mif1", b"miaf"), "image/heif"),
    ],
)
def test_sniffs_the_type_from_the_first_bytes(data: bytes, kind: str) -> None:
    assert sniff_image_type(data) == kind
    head, raw = decoded(image(data))
    assert head == f"data:{kind};base64"
    assert raw == data


@pytest.mark.parametrize(
    "data",
    [
        b"BMW drivers club newsletter",  # starts with "BM" but is text
        ftyp(b"isom", b"mp41"),  # an MP4 video shares the ftyp box
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"hello",
        b"",
    ],
)
def test_things_that_only_look_like_images_are_not(data: bytes) -> None:
    assert sniff_image_type(data) is None


def test_the_file_name_never_decides_the_type(tmp_path: Path) -> None:
    disguised = tmp_path / "photo.jpg"
    disguised.write_bytes(PNG)
    assert decoded(image(disguised))[0] == "data:image/png;base64"
    not_an_image = tmp_path / "picture.png"
    not_an_image.write_bytes(b"%PDF-1.7 ...")
    with pytest.raises(ValueError, match="looks like a PDF"):
        image(not_an_image)


# -- sources ----------------------------------------------------------------------------------


def test_paths_as_str_or_path_and_bytes_like_are_inlined(tmp_path: Path) -> None:
    path = tmp_path / "cat.webp"
    path.write_bytes(WEBP)
    expected = {"type": "image_url", "image_url": {"url": image(WEBP)["image_url"]["url"]}}
    assert image(path) == expected
    assert image(str(path)) == expected
    assert image(bytearray(WEBP)) == expected
    assert image(memoryview(WEBP)) == expected


def test_https_urls_and_data_uris_pass_through_with_detail() -> None:
    url = "https://samples.clarifai.com/metro-north.jpg"
    assert image(url) == {"type": "image_url", "image_url": {"url": url}}
    assert image(url, "low") == {"type": "image_url", "image_url": {"url": url, "detail": "low"}}
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert image(uri, detail="high")["image_url"] == {"url": uri, "detail": "high"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://example.com/cat.png", "refusing plain http"),
        ("http://127.0.0.1:8000/cat.png", "refusing plain http"),  # the server can't reach it
        ("https:///cat.png", "no host"),
        ("ftp://example.com/cat.png", "unsupported image URL scheme 'ftp'"),
        ("data:text/plain;base64,aGVsbG8=", "data:image/<type>;base64"),
        ("data:image/png,rawbytes", "data:image/<type>;base64"),
        ("data:image/png;base64,not base64!", "not base64"),
        ("data:image/png;base64,", "not base64"),
        ("", "empty string"),
    ],
)
def test_bad_urls_are_refused_before_any_request(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        image(source)


def test_detail_is_checked() -> None:
    with pytest.raises(ValueError, match="detail must be one of auto, low, high"):
        image(PNG, detail="ultra")


@pytest.mark.parametrize("source", [42, None, [PNG], {"url": "https://x"}])
def test_other_kinds_of_source_are_a_type_error(source: object) -> None:
    with pytest.raises(TypeError, match="https URL, a data: URI, a file path or bytes"):
        image(source)  # type: ignore[arg-type]


def test_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such image file"):
        image(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError, match="no such image file"):
        image("www.example.com/cat.png")  # a URL without https:// is taken as a path
    with pytest.raises(ValueError, match="not a file"):
        image(tmp_path)


# -- bounds -----------------------------------------------------------------------------------


def test_oversized_bytes_name_the_bound_and_the_size() -> None:
    with pytest.raises(ValueError) as info:
        image(PNG + bytes(100), max_bytes=64)
    message = str(info.value)
    assert f"{len(PNG) + 100:,} bytes" in message and "max_bytes=64" in message
    assert image(PNG, max_bytes=len(PNG))["image_url"]["url"].startswith("data:image/png")


def test_the_default_bound_is_20_mib_and_a_big_file_is_refused_unread(tmp_path: Path) -> None:
    assert DEFAULT_MAX_IMAGE_BYTES == 20 * 1024 * 1024
    big = tmp_path / "huge.png"
    with big.open("wb") as file:
        file.write(PNG)
        file.truncate(DEFAULT_MAX_IMAGE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(ValueError, match=r"20,971,521 bytes, over the max_bytes=20,971,520 bound \(20 MiB\)"):
        image(big)


def test_data_uri_size_is_its_decoded_size() -> None:
    payload = base64.b64encode(PNG + bytes(7)).decode()  # 37 bytes -> padded
    uri = f"data:image/png;base64,{payload}"
    assert image(uri, max_bytes=len(PNG) + 7)["image_url"]["url"] == uri
    with pytest.raises(ValueError, match=f"{len(PNG) + 7} bytes, over the max_bytes={len(PNG) + 6}"):
        image(uri, max_bytes=len(PNG) + 6)


def test_empty_and_unknown_images() -> None:
    with pytest.raises(ValueError, match="empty"):
        image(b"")
    with pytest.raises(ValueError, match="first bytes are 00 01 02 03.*supported: png, jpeg"):
        image(bytes(range(16)))
    with pytest.raises(ValueError, match="SVG"):
        image(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>')


def test_text_parts() -> None:
    assert text("Describe this") == {"type": "text", "text": "Describe this"}
    with pytest.raises(TypeError, match="takes a str"):
        text(b"bytes")  # type: ignore[arg-type]


# -- end to end -------------------------------------------------------------------------------


async def test_mixed_text_and_images_reach_the_model(
    fake: FakeClarifai, client: AsyncClarifai, tmp_path: Path
) -> None:
    photo = tmp_path / "photo"
    photo.write_bytes(JPEG)
    content = [
        text("What is in these pictures?"),
        image(photo, detail="low"),
        image("https://samples.clarifai.com/metro-north.jpg"),
        image(GIF),
    ]
    completion = await client.acompletion(MODEL, [{"role": "user", "content": content}])
    assert "I saw 3 images." in (completion.choices[0].message.content or "")
    sent = fake.last_request.json["messages"][0]["content"]
    assert sent == content
    assert sent[1]["image_url"]["detail"] == "low"
    assert sent[1]["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert sent[3]["image_url"]["url"].startswith("data:image/gif;base64,")


def test_importing_media_batch_and_hooks_stays_cheap() -> None:
    code = (
        "import sys, aclarifai.media, aclarifai.batch, aclarifai.hooks; "
        "heavy = [m for m in ('jsonschema', 'pydantic') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
