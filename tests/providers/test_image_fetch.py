"""Fetching a user's image URL under the URL policy, with an injected resolver and transport (no DNS, no internet)."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from providers.errors import ValidationError
from providers.image_fetch import fetch_image

PUBLIC = "93.184.216.34"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 360), (10, 200, 90)).save(buf, format="PNG")
    return buf.getvalue()


def resolver(table: dict[str, list[str]]):
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return table[host]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def test_connects_to_the_checked_address_with_the_name_in_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=png())

    resolve = resolver({"img.example.com": [PUBLIC]})
    got = fetch_image("https://img.example.com/a.png?x=1", resolver=resolve, transport=httpx.MockTransport(handler))
    assert got.mime == "image/png" and got.data == png()
    (request,) = seen
    assert request.url.host == PUBLIC and request.url.path == "/a.png" and request.url.query == b"x=1"
    assert request.headers["host"] == "img.example.com"
    assert request.extensions["sni_hostname"] == "img.example.com"
    assert resolve.asked == ["img.example.com"]  # resolved once


@pytest.mark.parametrize("url, table, reason", [
    ("https://10.0.0.5/a.png", {}, "private or local address (10.0.0.5)"),
    ("https://127.0.0.1/a.png", {}, "private or local"),
    ("http://img.example.com/a.png", {}, "http scheme is not allowed"),
    ("https://img.example.com:8443/a.png", {}, "port 8443"),
    ("https://img.example.com/a.png", {"img.example.com": [PUBLIC, "192.168.1.9"]}, "192.168.1.9"),
    ("https://img.example.com/a.png", {"img.example.com": ["::1"]}, "private or local"),
])
def test_refused_before_any_request(url: str, table: dict, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing may be sent, got {request.url}")

    with pytest.raises(ValidationError, match=reason.replace("(", r"\(").replace(")", r"\)")) as e:
        fetch_image(url, field="first_frame", resolver=resolver(table), transport=httpx.MockTransport(handler))
    assert e.value.field == "first_frame"


def test_a_redirect_is_checked_again() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == PUBLIC, "the private hop must never be connected to"
        return httpx.Response(302, headers={"location": "https://intranet.example/secret.png"})

    table = {"img.example.com": [PUBLIC], "intranet.example": ["10.1.2.3"]}
    with pytest.raises(ValidationError, match=r"private or local address \(10.1.2.3\)"):
        fetch_image("https://img.example.com/a.png", resolver=resolver(table), transport=httpx.MockTransport(handler))


def test_size_cap_and_image_sniff() -> None:
    big = httpx.MockTransport(lambda r: httpx.Response(200, content=b"\x89PNG\r\n\x1a\n" + b"0" * 2000))
    with pytest.raises(ValidationError, match="over the"):
        fetch_image("https://img.example.com/a.png", resolver=resolver({"img.example.com": [PUBLIC]}),
                    transport=big, max_bytes=1000)
    html = httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>not an image</html>"))
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP"):
        fetch_image("https://img.example.com/a.png", resolver=resolver({"img.example.com": [PUBLIC]}),
                    transport=html)
