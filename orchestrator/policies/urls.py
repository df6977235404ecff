"""Policy URLs: checked against the policy's origin and deny list, and mapped onto a replica.

Policies name the real site. Every URL in a policy is either on its `origin` or a bare path, so one
base-URL override (`http://127.0.0.1:8000/linkedin`) moves a whole policy onto the replica, and
path patterns and deny prefixes work unchanged on both.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from orchestrator.policies.schema import Policy


def check_origin(origin: str) -> str:
    """Validator: `scheme://host[:port]` only, so policy paths can be appended to it."""
    parts = urlsplit(origin)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError(
            f"origin {origin!r} must be an http(s) URL such as https://www.example.com"
        )
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"origin {origin!r} must be scheme://host[:port], without path or query")
    if origin != f"{parts.scheme}://{parts.netloc.lower()}":
        raise ValueError(f"origin {origin!r} must be written in lower case")
    return origin


def is_on_origin(url: str, origin: str) -> bool:
    """Whether `url` is a path (`/x`) or an absolute URL on exactly `origin`."""
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url.startswith("/")
    return f"{parts.scheme}://{parts.netloc}".lower() == origin


def path_of(url: str) -> str:
    """The path part of a URL or path: what path patterns and deny prefixes are matched against."""
    return urlsplit(url).path or "/"


def is_denied(path: str, deny_prefixes: tuple[str, ...]) -> bool:
    """Whether `path` is under a deny prefix, after decoding, resolving `..` and ignoring case."""
    decoded = unquote(path)
    normalised = "/" + posixpath.normpath(decoded).lstrip("/")
    if decoded.endswith("/") and not normalised.endswith("/"):
        normalised += "/"
    return any(normalised.casefold().startswith(prefix.casefold()) for prefix in deny_prefixes)


def rebase(url: str, policy: Policy, base_url: str | None) -> str:
    """The URL to open: `url` (real or bare path) on the policy's origin, or on `base_url`."""
    if not is_on_origin(url, policy.origin):
        raise ValueError(f"{url!r} is not on the origin {policy.origin} of policy {policy.id!r}")
    parts = urlsplit(url)
    relative = parts.path or "/"
    if parts.query:
        relative += f"?{parts.query}"
    if parts.fragment:
        relative += f"#{parts.fragment}"
    return (base_url or policy.origin).rstrip("/") + relative


def site_path(url: str, policy: Policy, base_url: str | None) -> str | None:
    """The path of a page the engine is on, as the real site would show it; None when off-site.

    With a base URL only pages under it count, so a replica run that wanders onto the real site
    is off-site, never mistaken for a matching page.
    """
    site = urlsplit((base_url or policy.origin).rstrip("/"))
    page = urlsplit(url)
    if (page.scheme, page.netloc.lower()) != (site.scheme, site.netloc.lower()):
        return None
    path = page.path or "/"
    if not site.path:
        return path
    if path == site.path:
        return "/"
    if path.startswith(site.path + "/"):
        return path[len(site.path) :]
    return None
