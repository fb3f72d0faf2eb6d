"""Fetch a user-typed image URL for a model that takes files only (Veo, Sora: `urls: false`), under the URL policy.

The host is resolved once and every address checked (providers/url_policy.py); the connection goes to the checked
address (the name stays in Host and TLS SNI), so a second DNS answer cannot swap in a private one. Redirects are
followed by hand, each hop checked again; the body is capped and must sniff as PNG, JPEG or WebP. Tests inject the
resolver and the httpx transport, so none of them resolves or reaches a public host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from providers import images
from providers.errors import ValidationError
from providers.url_policy import Resolver, is_public, literal_ip, system_resolver, validate_user_image_url

MAX_REDIRECTS = 3
TIMEOUT_S = 10.0
ALLOWED = "a public https:// image URL (port 443)"


@dataclass(frozen=True)
class FetchedImage:
    data: bytes
    mime: str
    final_url: str


def _checked_address(url: str, resolver: Resolver, field: str) -> tuple[str, str]:
    """(host, address to connect to): the policy's checks, then one resolution with every address public."""
    validate_user_image_url(url, resolver=None, field=field)
    host = urlsplit(url).hostname or ""
    literal = literal_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            resolved = list(resolver(host))
        except OSError:
            raise ValidationError(field, f"host {host} does not resolve", allowed=ALLOWED) from None
        addresses = [ip for a in resolved if (ip := literal_ip(str(a))) is not None]
        if not addresses or len(addresses) != len(resolved):
            raise ValidationError(field, f"host {host} does not resolve to a usable address", allowed=ALLOWED)
    for ip in addresses:
        if not is_public(ip):
            raise ValidationError(field, f"host {host} points to a private or local address ({ip})", allowed=ALLOWED)
    first = addresses[0]
    return host, f"[{first}]" if isinstance(first, ipaddress.IPv6Address) else str(first)


def _pinned(url: str, address: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("https", address, parts.path or "/", parts.query, ""))


def fetch_image(url: str, *, field: str = "image_url", resolver: Resolver = system_resolver,
                transport: httpx.BaseTransport | None = None, max_bytes: int = images.MAX_IMAGE_BYTES) -> FetchedImage:
    """The image's bytes, or ValidationError naming `field` and what is allowed."""
    current = url.strip()
    with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False, trust_env=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            host, address = _checked_address(current, resolver, field)
            request = client.build_request("GET", _pinned(current, address), headers={"Host": host,
                                           "Accept": "image/png, image/jpeg, image/webp"},
                                           extensions={"sni_hostname": host})
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError as e:
                raise ValidationError(field, f"could not fetch the image from {host} ({type(e).__name__})",
                                      allowed=ALLOWED) from None
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise ValidationError(field, f"{host} redirected without a Location", allowed=ALLOWED)
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise ValidationError(field, f"{host} answered HTTP {response.status_code}", allowed=ALLOWED)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise ValidationError(field, f"the image is {int(declared) / 2**20:.1f} MB, over the "
                                          f"{max_bytes / 2**20:.0f} MB limit", allowed=ALLOWED)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise ValidationError(field, f"the image is over the {max_bytes / 2**20:.0f} MB limit",
                                              allowed=ALLOWED)
            finally:
                response.close()
            data = bytes(body)
            mime = images.sniff_mime(data)
            if mime is None:
                raise ValidationError(field, "the URL is not a PNG, JPEG or WebP image", allowed="PNG, JPEG, WebP")
            images.inspect_image(data, field)  # refuses decompression bombs before any model sees it
            return FetchedImage(data, mime, current)
    raise ValidationError(field, f"more than {MAX_REDIRECTS} redirects", allowed=ALLOWED)
