"""The URL policy without holes: every spelling of a local host is normalised before the name check, and
plain http is accepted only where the user opted in (the gateway's own origin) or for the local sandbox."""

from __future__ import annotations

import pytest

from providers.errors import ValidationError
from providers.url_policy import check_result_url, checked_image_url, normalise_host, validate_user_image_url


def public_resolver(host: str) -> list[str]:
    return ["93.184.216.34"]


def never_resolve(host: str) -> list[str]:
    raise AssertionError(f"{host} should be refused before any DNS lookup")


@pytest.mark.parametrize(("host", "normal"), [
    ("LOCALHOST", "localhost"), ("localhost.", "localhost"), ("localhost..", "localhost"),
    ("Img.Example.", "img.example"), ("[::1]", "::1"), ("ｌｏｃａｌｈｏｓｔ", "localhost"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_hosts_are_normalised_before_any_check(host, normal):
    assert normalise_host(host) == normal


@pytest.mark.parametrize("url", [
    "https://localhost./x.png",                 # trailing dot
    "https://LOCALHOST/x.png",                  # case
    "https://localhost../x.png",
    "https://ｌｏｃａｌｈｏｓｔ/x.png",              # full-width letters: IDNA maps them to "localhost"
    "https://foo.localhost./x.png",
    "https://127.0.0.1./x.png",                 # trailing dot on an address
    "https://2130706433/x.png",                 # decimal
    "https://0177.0.0.1/x.png",                 # octal
    "https://0x7f000001/x.png",                 # hex
    "https://0x7f.0.0.1/x.png",
    "https://[::ffff:127.0.0.1]/x.png",         # IPv6-mapped IPv4
    "https://[::ffff:7f00:1]/x.png",
    "https://0.0.0.0/x.png",
    "https://[::]/x.png",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata address
    "https://metadata/x.png",                    # ... and its names
    "https://metadata.google.internal./computeMetadata/v1/",
    "https://instance-data/latest/",
    "https://printer.local/x.png",
    "https://router.home.arpa/x.png",
    "https://⑯⑨.②⑤④.⑯⑨.②⑤④/x.png",             # circled digits: IDNA maps them to 169.254.169.254
])
def test_local_hosts_are_refused_in_every_spelling(url):
    with pytest.raises(ValidationError) as caught:
        validate_user_image_url(url, resolver=never_resolve)
    assert caught.value.field == "image_url"


def test_the_checked_addresses_are_handed_to_the_fetcher():
    url, addresses = checked_image_url("https://img.example./a.png", resolver=public_resolver)
    assert url == "https://img.example./a.png" and [str(a) for a in addresses] == ["93.184.216.34"]


def test_a_name_resolving_to_a_mapped_loopback_address_is_refused():
    with pytest.raises(ValidationError, match="private or local"):
        validate_user_image_url("https://img.example/a.png", resolver=lambda host: ["::ffff:127.0.0.1"])


@pytest.mark.parametrize(("url", "accepted"), [
    ("http://gw.lan:8080/files/a.mp4", True),     # the gateway's own origin
    ("http://GW.LAN.:8080/files/a.mp4", True),    # the same origin, spelled differently
    ("http://gw.lan:8081/files/a.mp4", False),    # another port
    ("http://gw.lan/files/a.mp4", False),         # port 80 is another origin
    ("http://cdn.example/a.mp4", False),          # nothing else over plain http
    ("https://cdn.example/a.mp4", True),
])
def test_plain_http_result_urls_only_on_the_opted_in_origin(url, accepted):
    if accepted:
        assert check_result_url(url, sandbox=False, http_origin="http://gw.lan:8080") == url
    else:
        with pytest.raises(ValidationError):
            check_result_url(url, sandbox=False, http_origin="http://gw.lan:8080")


def test_without_the_opt_in_no_plain_http_result_url_passes():
    with pytest.raises(ValidationError):
        check_result_url("http://gw.lan:8080/files/a.mp4", sandbox=False)
