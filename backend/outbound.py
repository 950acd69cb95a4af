"""The one client for requests this service makes to addresses others chose (webhooks, origin proofs).

Destination policy: https only outside development; no loopback, private, link-local, metadata or
otherwise non-global address, checked on the addresses the name resolves to; the connection goes to
the checked address itself (the name is sent as Host and TLS SNI, the certificate is checked against
it), so a second, different DNS answer cannot slip in between check and connect. No redirects, short
timeouts, a capped response body, no proxy from the environment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from backend.domain_errors import InvalidInput
from backend.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Non-global already covers these; named so a reviewer sees the metadata and ULA ranges are meant.
ALWAYS_REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "169.254.169.254/32", "fd00::/8", "fc00::/7", "fe80::/10", "100.64.0.0/10", "0.0.0.0/8", "::/128"))


class DestinationRefused(Exception):
    """The URL or an address its name resolves to is not one this service may reach."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False  # loopback/private targets (development, local test receivers)
    allow_http: bool = False
    timeout: float = 5.0
    max_response_bytes: int = 64 * 1024

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float | None = None) -> Policy:
        return cls(allow_private=settings.private_targets_allowed,
                   allow_http=settings.environment == "development",
                   timeout=timeout if timeout is not None else settings.webhook_timeout_seconds,
                   max_response_bytes=settings.outbound_max_response_bytes)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most max_response_bytes


def refused_address(ip: IPAddress) -> str | None:
    """Why this address is not reachable under the strict policy, or None when it is a public one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in ALWAYS_REFUSED if net.version == ip.version):
        return "a link-local, metadata or private address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "a private or non-public address"
    return None


def _parse(url: str, policy: Policy) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise DestinationRefused("the URL cannot be parsed") from exc
    if parts.scheme not in ("https", "http") or not hostname:
        raise DestinationRefused("the URL must be http(s)://host/…")
    if parts.scheme == "http" and not policy.allow_http:
        raise DestinationRefused("only https:// destinations are allowed")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("the URL's port is not valid") from exc
    return parts.scheme, hostname, port


async def resolve(host: str, port: int, policy: Policy) -> list[IPAddress]:
    """Every address of `host`, each checked; one refused address refuses the destination."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM), timeout=policy.timeout)
        except (OSError, TimeoutError) as exc:
            raise DestinationRefused(f"the host name {host!r} does not resolve") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if not addresses:
        raise DestinationRefused(f"the host name {host!r} does not resolve")
    if not policy.allow_private:
        for ip in addresses:
            reason = refused_address(ip)
            if reason:
                raise DestinationRefused(f"{host} resolves to {reason} ({ip}), which this service does not reach")
    return addresses


async def check_url(url: str, policy: Policy) -> None:
    """Registration-time check: a clear 400 instead of a destination every delivery would refuse."""
    try:
        _, host, port = _parse(url, policy)
        await resolve(host, port, policy)
    except DestinationRefused as exc:
        raise InvalidInput("destination_refused", exc.message) from exc


def _pinned(url: str, ip: IPAddress) -> str:
    parts = urlsplit(url)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class OutboundClient:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(policy.timeout), follow_redirects=False,
                                        trust_env=False)

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> Answer:
        return await self.request("POST", url, content=content, headers=headers)

    async def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        """Raises DestinationRefused for a refused destination, httpx.HTTPError for a failed exchange."""
        scheme, host, _port = _parse(url, self.policy)
        ip = (await resolve(host, _port, self.policy))[0]
        headers = {**kwargs.pop("headers", {}), "Host": urlsplit(url).netloc.rsplit("@", 1)[-1]}
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        request = self.client.build_request(method, _pinned(url, ip), headers=headers, extensions=extensions,
                                            **kwargs)
        return await asyncio.wait_for(self._send(request), timeout=self.policy.timeout * 2)

    async def _send(self, request: httpx.Request) -> Answer:
        response = await self.client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk[: self.policy.max_response_bytes - len(body)]
                if len(body) >= self.policy.max_response_bytes:
                    break  # the rest is never read
            return Answer(response.status_code, bytes(body))
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()
