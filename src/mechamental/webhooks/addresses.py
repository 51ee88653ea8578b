"""Where a webhook may point: no loopback, private, link-local or metadata addresses.

The host is resolved here and every address it resolves to must be public (`is_global`,
IPv4-mapped IPv6 unwrapped), when the endpoint is saved and again on every connection (DNS
can change between the two, or between attempts): `sender.GuardedBackend` connects only to
an address this module just checked. `WEBHOOK_ALLOW_PRIVATE` turns the checks off
(development and tests, whose receivers listen on loopback).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The endpoint's host is, or resolves to, an address webhooks may not reach."""


def is_allowed(address: IPAddress) -> bool:
    """Whether an address is public (cloud metadata, 169.254.169.254, is link-local)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal is itself); OSError if none."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{host} has no address")
    return found


async def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host`, all of them public, or RefusedAddress."""
    try:
        found = await resolve(host, port)
    except OSError as exc:
        raise RefusedAddress(f"the host {host} does not resolve ({exc.strerror or exc})") from exc
    except UnicodeError as exc:  # IDNA refuses the name (a label too long, odd characters)
        raise RefusedAddress(f"the host {host!r} is not a valid host name") from exc
    refused = [str(address) for address in found if not is_allowed(address)]
    if refused:
        raise RefusedAddress(
            f"the host {host} resolves to a loopback, private, link-local or reserved "
            f"address ({', '.join(refused)})"
        )
    return found


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """What is wrong with `url` as an endpoint before any lookup, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return "must be an https URL" + (" (or http)" if allow_private else "")
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    del port
    return None


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port a (valid) endpoint URL connects to."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
