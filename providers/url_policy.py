"""Which URLs we will fetch: provider result URLs (https, loopback http only for the sandbox, plain http on
the base URL's own origin when the user opted into a self-hosted http gateway) and user-typed image URLs
(https:443 to public addresses only, never the sandbox exception; SSRF rules).

Every host is normalised first (case, trailing dots, IDNA), so `https://LOCALHOST./` or a Unicode
spelling of a local name meets the same name check as its plain form; a fetcher that connects gets the
checked addresses from `checked_image_url` and connects to one of them (no second DNS lookup)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from providers.errors import ValidationError
from providers.redact import strip_query

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

LOCAL_NAMES = ("localhost", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal")
"""Names that always mean this machine or a cloud metadata service, whatever DNS says."""
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def system_resolver(host: str) -> list[str]:
    """Every A and AAAA address of `host` (getaddrinfo)."""
    infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def normalise_host(host: str) -> str:
    """The host as a name check must see it: lower case, no trailing dots, IDNA (punycode) for Unicode names.
    Raises ValueError for a name IDNA cannot encode."""
    bare = host.strip()
    if bare.startswith("["):
        return bare.strip("[]").lower()
    bare = bare.rstrip(".").lower()
    if bare and not bare.isascii():
        bare = bare.encode("idna").decode("ascii").lower()
    return bare


def is_local_name(host: str) -> bool:
    """A name (not an address) that points at this machine or a metadata service, after normalisation."""
    name = normalise_host(host)
    return name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES)


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
    try:
        host = normalise_host(host)
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = literal_ip(host)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def same_origin(a: str, b: str) -> bool:
    """Scheme, normalised host and port (default ports filled in) are equal."""
    def origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            host, port = normalise_host(parts.hostname or ""), parts.port
        except ValueError:
            return ("", "", -1)
        return scheme, host, port or {"https": 443, "http": 80}.get(scheme)
    return origin(a) == origin(b)


def check_result_url(url: str, *, sandbox: bool, field: str = "video_url", http_origin: str | None = None) -> str:
    """A provider-returned URL we may download: https, plain http to loopback for the sandbox, or plain http
    on `http_origin` (the base URL of a gateway the user opted into plain http for) and nowhere else."""
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
    if scheme == "http" and http_origin is not None and same_origin(url, http_origin):
        return url
    allowed = "https:// URLs (plain http only to 127.0.0.1 with the local sandbox)" if sandbox else "https:// URLs"
    if http_origin is not None:
        allowed += f" or plain http on {strip_query(http_origin)}"
    raise ValidationError(field, f"{scheme or 'no'} scheme is not allowed for {host}" + (f":{port}" if port else ""),
                          allowed=allowed)


def validate_user_image_url(url: str, *, resolver: Resolver | None = system_resolver,
                            field: str = "image_url") -> str:
    """A user-typed image URL we (or the provider) may fetch. Never gets the sandbox exception.

    https only, port 443, no userinfo, no fragment; the host, normalised, must not be a local name, nor be or
    resolve to a loopback / private / link-local / reserved address (all A and AAAA records are checked).
    `resolver=None` checks everything but DNS (for validation before a URL is forwarded, not fetched).
    """
    return checked_image_url(url, resolver=resolver, field=field)[0]


def checked_image_url(url: str, *, resolver: Resolver | None = system_resolver,
                      field: str = "image_url") -> tuple[str, list[IPAddress]]:
    """`validate_user_image_url`, also returning the addresses it checked (empty when `resolver` is None):
    a fetcher connects to one of these, so DNS cannot answer differently between the check and the connect."""
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
    try:
        host = normalise_host(parts.hostname or "")
    except ValueError:
        raise ValidationError(field, "the host name is not a valid (IDNA) name", allowed=allowed) from None
    if not host:
        raise ValidationError(field, "the URL has no host", allowed=allowed)
    literal = literal_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        if is_local_name(host):
            raise ValidationError(field, f"host {host} is a local name", allowed=allowed)
        if resolver is None:
            return url, []
        try:
            resolved = list(resolver(host))
        except (OSError, UnicodeError):
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
    return url, addresses
