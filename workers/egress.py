"""Where webhooks may go: the callback URL policy, checked at submit and again at delivery.

A callback URL is a bank's receiver on the public internet. Anything else (loopback, private,
link-local, unique-local, multicast, reserved addresses, cloud metadata services) would let whoever
submits a request make the worker call into its own network (SSRF), so:

* the host must match `KYC_CALLBACK_HOSTS` when that is set (exact names, or `*.suffix` for the
  subdomains of a suffix);
* a host written as a number other than a canonical dotted quad (`2130706433`, `127.1`, `0x7f.1`,
  `0177.0.0.1`: forms the C resolver accepts) is refused outright, and so is an IPv6 scope (`%eth0`);
* every address the host resolves to must be public (IPv4 inside IPv6 — mapped, 6to4, Teredo,
  NAT64 — is checked as IPv4), unless it lies in `KYC_CALLBACK_ALLOW_NETWORKS` (deliberate
  allowances for on-premise receivers and tests); cloud metadata names and addresses are refused
  even then;
* at delivery the host is resolved once, every address checked, and the connection made to a
  checked address (never resolved again: a DNS answer that changes in between cannot redirect the
  POST); with https the host name is kept for SNI and the certificate check. Redirects are never
  followed and proxies from the environment are not used.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kycengine.errors import InvalidRequest

from .config import WorkerConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services: AWS (IMDS, ECS, IPv6 IMDS), GCP, Azure (IMDS, wire server), Alibaba,
# Oracle, DigitalOcean, OpenStack all answer on one of these.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16",
    "192.0.0.192"))
METADATA_NAMES = ("metadata", "instance-data")  # and any name starting with "<one of these>."
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Every spelling of an IPv4 address that inet_aton accepts: 1 to 4 parts, decimal, octal or hex.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class CallbackNotAllowed(InvalidRequest):
    """A callback URL whose host is not allowed, or resolves to an address that is not public."""

    code = "callback_not_allowed"


@dataclass(frozen=True)
class CallbackPolicy:
    """Allowed callback hosts (empty: any public host) and networks allowed although not public."""

    hosts: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_config(cls, config: WorkerConfig) -> CallbackPolicy:
        return cls(config.callback_hosts,
                   tuple(ipaddress.ip_network(n, strict=False) for n in config.callback_allow_networks))

    def host_allowed(self, host: str) -> bool:
        """True when the host matches the allow-list (always, when the list is empty)."""
        if not self.hosts:
            return True
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:]) and len(host) > len(h) - 1)
                   for h in self.hosts)

    def address_problem(self, address: IPAddress) -> str | None:
        """Why a connection to this address is refused, or None when it is allowed."""
        if getattr(address, "scope_id", None):
            return "a scoped IPv6 address"
        for inner in _embedded(address):
            if inner in METADATA_ADDRESSES:
                return "a cloud metadata address"
        if any(address in net for net in self.networks if net.version == address.version):
            return None
        for inner in _embedded(address):
            if not inner.is_global or inner.is_multicast or inner.is_reserved or inner.is_unspecified:
                return "not a public address"
        return None


@dataclass(frozen=True)
class Target:
    """A checked callback: where to connect (checked addresses, in resolver order) and what to ask."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address carried inside it (mapped, 6to4, Teredo, NAT64)."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def check_syntax(url: object) -> str:
    """The URL if it is an absolute http(s) URL with a host and no credentials; else InvalidRequest."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest("callback_url: must be a non-empty string")
    if len(url) > 2048 or any(ord(c) < 33 for c in url):
        raise InvalidRequest("callback_url: too long or contains spaces/control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise InvalidRequest(f"callback_url {url!r}: not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest(f"callback_url {url!r}: only http and https are allowed")
    if not parts.hostname:
        raise InvalidRequest(f"callback_url {url!r}: has no host")
    if parts.username or parts.password:
        raise InvalidRequest("callback_url: credentials in the URL are not allowed")
    return url


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: object, policy: CallbackPolicy) -> str:
    """Everything that can be checked without DNS: syntax, host allow-list, metadata names, literal
    addresses and numeric spellings. Raises InvalidRequest / CallbackNotAllowed."""
    text = check_syntax(url)
    host = (urlsplit(text).hostname or "").rstrip(".")
    if any(host == name or host.startswith(name + ".") for name in METADATA_NAMES):
        raise CallbackNotAllowed(f"callback_url: {host} is a cloud metadata service")
    if not policy.host_allowed(host):
        raise CallbackNotAllowed(f"callback_url: host {host} is not in KYC_CALLBACK_HOSTS")
    address = _literal(host)
    if address is None and (_NUMERIC_HOST.match(host) or "%" in host):
        raise CallbackNotAllowed(f"callback_url: host {host!r} is not a canonical address")
    if address is not None:
        problem = policy.address_problem(address)
        if problem is not None:
            raise CallbackNotAllowed(f"callback_url: {host} is {problem}")
    return text


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses for TCP, in the resolver's order (raises OSError when it does not resolve)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def target(url: object, policy: CallbackPolicy) -> Target:
    """Check the URL, resolve its host once and check every address; the Target to connect to.

    Raises CallbackNotAllowed when any address is refused or the host does not resolve.
    """
    text = check_url(url, policy)
    parts = urlsplit(text)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise CallbackNotAllowed(f"callback_url: host {host} does not resolve ({exc})") from None
    for address in addresses:
        problem = ("a scoped IPv6 address" if "%" in address
                   else policy.address_problem(ipaddress.ip_address(address)))
        if problem is not None:
            raise CallbackNotAllowed(f"callback_url: {host} resolves to {address}, {problem}")
    if not addresses:
        raise CallbackNotAllowed(f"callback_url: host {host} has no address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, tuple(addresses))


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to a checked address; the Host header keeps the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI and the certificate check use the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def connection(to: Target, address: str, timeout_s: float) -> http.client.HTTPConnection:
    """An unopened connection to one of the target's checked addresses."""
    cls: Any = _PinnedHTTPS if to.scheme == "https" else _PinnedHTTP
    return cls(to.host, to.port, address, timeout_s)
