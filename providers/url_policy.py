"""Which URLs we will fetch: provider result URLs (https, loopback http only for the sandbox) and
user-typed image URLs (https:443 to public addresses only, never the sandbox exception; SSRF rules)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from providers.errors import ValidationError
from providers.redact import strip_query

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def system_resolver(host: str) -> list[str]:
    """Every A and AAAA address of `host` (getaddrinfo)."""
    infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def literal_ip(host: str) -> IPAddress | None:
    """`host` as an IP address when it is one, including legacy spellings (2130706433, 0177.0.0.1, 0x7f.1)."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        pass
    if bare and all(c in "0123456789abcdefxABCDEFX." for c in bare) and any(c.isdigit() for c in bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, looking through IPv6 embeddings of IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: IPAddress | None = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and (ip in _NAT64 or ip in _NAT64_LOCAL):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return bool(ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                      or ip.is_loopback or ip.is_link_local or ip.is_private))


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    ip = literal_ip(host)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_result_url(url: str, *, sandbox: bool, field: str = "video_url") -> str:
    """A provider-returned URL we may download: https, or plain http to loopback for the sandbox only."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(field, "no URL given", allowed="an https:// URL")
    url = url.strip()
    if any(ord(c) < 33 or c == "\\" for c in url):
        raise ValidationError(field, "the URL contains spaces or control characters", allowed="an https:// URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(field, f"not a valid URL: {strip_query(url)[:120]}", allowed="an https:// URL") from None
    host = parts.hostname or ""
    if not host:
        raise ValidationError(field, "the URL has no host", allowed="an https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(field, "URLs with user:password@ are not accepted", allowed="an https:// URL")
    scheme = parts.scheme.lower()
    if scheme == "https":
        return url
    if scheme == "http" and sandbox and is_loopback_host(host):
        return url
    allowed = "https:// URLs (plain http only to 127.0.0.1 with the local sandbox)" if sandbox else "https:// URLs"
    raise ValidationError(field, f"{scheme or 'no'} scheme is not allowed for {host}" + (f":{port}" if port else ""),
                          allowed=allowed)


def validate_user_image_url(url: str, *, resolver: Resolver | None = system_resolver,
                            field: str = "image_url") -> str:
    """A user-typed image URL we (or the provider) may fetch. Never gets the sandbox exception.

    https only, port 443, no userinfo, no fragment; the host must not be or resolve to a
    loopback / private / link-local / reserved address (all A and AAAA records are checked).
    `resolver=None` checks everything but DNS (for validation before a URL is forwarded, not fetched).
    """
    allowed = "a public https:// image URL (port 443)"
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(field, "no URL given", allowed=allowed)
    url = url.strip()
    if any(ord(c) < 33 or c == "\\" for c in url):
        raise ValidationError(field, "the URL contains spaces or control characters", allowed=allowed)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(field, f"not a valid URL: {strip_query(url)[:120]}", allowed=allowed) from None
    if parts.scheme.lower() != "https":
        raise ValidationError(field, f"{parts.scheme or 'no'} scheme is not allowed", allowed=allowed)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(field, "URLs with user:password@ are not accepted", allowed=allowed)
    if parts.fragment:
        raise ValidationError(field, "URLs with a #fragment are not accepted", allowed=allowed)
    if port not in (None, 443):
        raise ValidationError(field, f"port {port} is not allowed", allowed=allowed)
    host = parts.hostname or ""
    if not host:
        raise ValidationError(field, "the URL has no host", allowed=allowed)
    literal = literal_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        if host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal")):
            raise ValidationError(field, f"host {host} is a local name", allowed=allowed)
        if resolver is None:
            return url
        try:
            resolved = list(resolver(host))
        except OSError:
            raise ValidationError(field, f"host {host} does not resolve", allowed=allowed) from None
        addresses = []
        for a in resolved:
            ip = literal_ip(str(a))
            if ip is None:
                raise ValidationError(field, f"host {host} resolved to an unreadable address", allowed=allowed)
            addresses.append(ip)
        if not addresses:
            raise ValidationError(field, f"host {host} does not resolve", allowed=allowed)
    for ip in addresses:
        if not is_public(ip):
            raise ValidationError(field, f"host {host} points to a private or local address ({ip})", allowed=allowed)
    return url
