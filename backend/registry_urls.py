"""Hosting URLs and the origins they may be registered under: the registry's URL half.

A hosting URL is an origin + path (never a bare path, which would match the same path on every site).
An admin assigns origins (optionally narrowed to a path prefix) to a publisher; the publisher registers
URLs only inside them, one owner per URL. A URL ending in `*` is a prefix pattern. Look-ups are
deterministic SQL on both stores: the exact URL (common tracking parameters dropped) beats a pattern,
and of the patterns the longest wins; the service's own `/media/<content id>.<ext>` resolves by name.
Like a CDN whose cache key ignores the query string, a URL registered without a query also matches its
`?v=2`-style variants, unless that variant is registered itself (a longer, exact entry wins).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from backend import accounts, audit, registry
from backend.domain_errors import Conflict, Forbidden, InvalidInput
from backend.store.db import iso_utc
from backend.store.schema import content_urls, publisher_origins

MAX_URL = 2000
MAX_PREFIX = 1000
MAX_ORIGIN = 300
EXACT, PREFIX = "exact", "prefix"
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
# Click and campaign identifiers that players and share links add; they never name different media.
_TRACKING = re.compile(r"^(utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|igshid|mc_cid|mc_eid|_hsenc|_hsmi"
                       r"|spm|spm_id_from|scm|vd_source|share_source|share_medium)$", re.IGNORECASE)
_OWN_MEDIA = re.compile(rf"^/media/({registry.CONTENT_ID_PATTERN})\.[a-z0-9]{{2,5}}$")
# A URL showing content in one of these states cannot be pointed at other content: that would route
# around the moderator's decision (the block cover, the pause, the refutation notice).
_DECIDED = {"blocked": "blocked", "pending_label": "paused", "refuted": "refuted"}


class UrlError(ValueError):
    """Not an absolute http(s) URL this registry can hold."""


@dataclass(frozen=True)
class HostingUrl:
    kind: str  # exact | prefix
    url: str  # normalised: lower-case scheme and host, no default port, no fragment, no tracking parameters
    origin: str

    @property
    def path(self) -> str:
        return self.url[len(self.origin):] or "/"

    @property
    def shown(self) -> str:
        return self.url + ("*" if self.kind == PREFIX else "")


def _origin(scheme: str, host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def normalise(raw: str) -> HostingUrl:
    """An absolute URL as the registry keys it; `*` at the end makes it a prefix pattern."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_URL or _CONTROL.search(raw):
        raise UrlError("not a URL")
    kind = PREFIX if raw.endswith("*") else EXACT
    text = raw[:-1] if kind == PREFIX else raw
    try:
        parts = urlsplit(text)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError) as exc:
        raise UrlError("not a URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise UrlError("not an absolute http(s) URL")
    query = "&".join(p for p in parts.query.split("&")
                     if p and not _TRACKING.match(unquote(p.split("=", 1)[0])))
    origin = _origin(scheme, host, port)
    if len(origin) > MAX_ORIGIN:
        raise UrlError("host too long")
    if any(seg in (".", "..") for seg in unquote(parts.path).split("/")):
        raise UrlError("dot segments")  # a browser never requests them; they would only dodge prefix rules
    url = origin + (parts.path or "/") + (f"?{query}" if query else "")
    return HostingUrl(kind, url, origin)


def normalise_origin(raw: str) -> str:
    """`https://cdn.example` (no path, query or fragment) in its registry form."""
    parsed = normalise(raw)
    if parsed.kind != EXACT or parsed.url != parsed.origin + "/" or "#" in raw:
        raise UrlError("an origin is scheme://host[:port], without a path")
    return parsed.origin


def parse_all(urls: list[str]) -> list[HostingUrl]:
    out: list[HostingUrl] = []
    for raw in urls:
        try:
            out.append(normalise(raw))
        except UrlError as exc:
            raise InvalidInput("invalid_hosting_url",
                           "hosting URLs must be absolute http(s) URLs: origin + path (a bare path such as "
                           "/a.png would match that path on every site); end one with * for a prefix") from exc
    return out


# -- origins an admin assigns --------------------------------------------------------------------------------

def assign(conn: Connection, account_id: str, origin: Any, path_prefix: Any, actor: str,
           now: dt.datetime) -> tuple[dict[str, Any], bool]:
    """An admin's assignment of an origin (optionally only below a path prefix) to a publisher, audited:
    (the assignment, whether it is new). Idempotent."""
    try:
        if not isinstance(origin, str):
            raise UrlError("not text")
        origin = normalise_origin(origin)
    except UrlError as exc:
        raise InvalidInput("invalid_origin", "`origin` must be scheme://host[:port] (http or https), "
                       "without a path") from exc
    prefix = "/" if path_prefix is None else path_prefix
    if not isinstance(prefix, str) or not prefix.startswith("/") or len(prefix) > MAX_PREFIX \
            or _CONTROL.search(prefix) or "?" in prefix or "#" in prefix:
        raise InvalidInput("invalid_path_prefix", "`path_prefix` must be a path starting with /, "
                       f"at most {MAX_PREFIX} characters, without query or fragment")
    if accounts.get_row(conn, account_id).role != "publisher":
        raise Conflict("not_a_publisher", "origins are assigned to publisher accounts")
    view, created = _assign_origin(conn, account_id, origin, prefix, actor, now)
    if created:
        audit.append(conn, actor, "account.origin_assigned", account_id, {"origin": origin, "path_prefix": prefix})
    return view, created


def _assign_origin(conn: Connection, account_id: str, origin: str, path_prefix: str, actor: str,
                   now: dt.datetime) -> tuple[dict[str, Any], bool]:
    existing = conn.execute(select(publisher_origins).where(
        publisher_origins.c.account_id == account_id, publisher_origins.c.origin == origin,
        publisher_origins.c.path_prefix == path_prefix)).first()
    if existing is not None:
        return _origin_view(existing), False
    conn.execute(publisher_origins.insert().values(account_id=account_id, origin=origin, path_prefix=path_prefix,
                                                   assigned_by=actor, created_at=now))
    row = conn.execute(select(publisher_origins).where(
        publisher_origins.c.account_id == account_id, publisher_origins.c.origin == origin,
        publisher_origins.c.path_prefix == path_prefix)).one()
    return _origin_view(row), True


def origins_of(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(publisher_origins).where(publisher_origins.c.account_id == account_id)
                        .order_by(publisher_origins.c.id))
    return [_origin_view(r) for r in rows]


def _origin_view(row: Any) -> dict[str, Any]:
    return {"origin": row.origin, "path_prefix": row.path_prefix, "assigned_by": row.assigned_by,
            "assigned_at": iso_utc(row.created_at)}


def _may_register(conn: Connection, account_id: str, url: HostingUrl) -> bool:
    prefixes = conn.execute(select(publisher_origins.c.path_prefix).where(
        publisher_origins.c.account_id == account_id, publisher_origins.c.origin == url.origin)).scalars()
    return any(url.path.startswith(p) for p in prefixes)


# -- registration -------------------------------------------------------------------------------------------

def check(conn: Connection, content_id: str | None, publisher_id: str | None, urls: list[HostingUrl]) -> None:
    """Refuses (403/409) what `register` would refuse; run before costly work, and again by `register`.
    `publisher_id` None is the CLI operator, who is not bound to assigned origins."""
    for url in urls:
        if publisher_id is not None and not _may_register(conn, publisher_id, url):
            raise Forbidden("origin_not_assigned",
                           f"{url.shown} is not under an origin assigned to your account; an admin assigns "
                           f"origins (POST /v1/accounts/{{id}}/origins, `avlabel accounts add-origin`)")
        owner = conn.execute(select(content_urls.c.publisher_id, content_urls.c.content_id).where(
            content_urls.c.kind == url.kind, content_urls.c.url == url.url)).first()
        if owner is not None and owner.publisher_id != publisher_id:
            raise Conflict("url_taken", f"{url.shown} is registered by another account")
        current = _resolve(conn, url.url, prefix_only=url.kind == PREFIX)
        if current is not None and current != content_id:
            stopped = registry.by_id(conn, current)
            if stopped is not None and stopped.label_state in _DECIDED:
                raise Forbidden("url_blocked", f"{url.shown} shows content a moderator has "
                               f"{_DECIDED[stopped.label_state]}{registry.case_phrase(stopped)}; "
                               "it cannot be pointed at other content")


def register(conn: Connection, content_id: str, publisher_id: str | None, urls: list[HostingUrl],
             now: dt.datetime) -> None:
    """Inside the caller's transaction. A URL the same account registered before moves to this content."""
    check(conn, content_id, publisher_id, urls)
    for url in dict.fromkeys(urls):
        moved = conn.execute(content_urls.update().where(
            content_urls.c.kind == url.kind, content_urls.c.url == url.url).values(
            content_id=content_id, created_at=now)).rowcount
        if not moved:
            try:
                conn.execute(content_urls.insert().values(
                    content_id=content_id, url=url.url, kind=url.kind, origin=url.origin,
                    publisher_id=publisher_id, created_at=now))
            except IntegrityError as exc:  # registered by someone else meanwhile (the transaction rolls back)
                raise Conflict("url_taken", f"{url.shown} is registered by another account") from exc


def own_media(conn: Connection, content_id: str, extension: str, now: dt.datetime) -> None:
    """The service's own `/media/…` path, listed with the content's URLs (it resolves by name)."""
    conn.execute(content_urls.insert().values(content_id=content_id, url=registry.media_path(content_id, extension),
                                              created_at=now))


def listed(conn: Connection, content_id: str) -> list[str]:
    rows = conn.execute(select(content_urls.c.url, content_urls.c.kind).where(content_urls.c.content_id == content_id)
                        .order_by(content_urls.c.id))
    return [r.url + ("*" if r.kind == PREFIX else "") for r in rows]


# -- look-up ------------------------------------------------------------------------------------------------

def _resolve(conn: Connection, url: str, prefix_only: bool = False) -> str | None:
    if not prefix_only:
        exact = conn.execute(select(content_urls.c.content_id).where(
            content_urls.c.kind == EXACT, content_urls.c.url == url)).scalar()
        if exact is not None:
            return str(exact)
        bare = url.split("?", 1)[0]
        if bare != url:  # a cache-busting or version query on a URL registered without one
            exact = conn.execute(select(content_urls.c.content_id).where(
                content_urls.c.kind == EXACT, content_urls.c.url == bare)).scalar()
            if exact is not None:
                return str(exact)
    origin = normalise(url).origin
    pattern = conn.execute(select(content_urls.c.content_id).where(
        content_urls.c.kind == PREFIX, content_urls.c.origin == origin,
        func.substr(url, 1, func.length(content_urls.c.url)) == content_urls.c.url)
        .order_by(func.length(content_urls.c.url).desc(), content_urls.c.id).limit(1)).scalar()
    return str(pattern) if pattern is not None else None


def own_origins(*urls: str) -> set[str]:
    """The origins this service serves its `/media/` from (its public URL, the address a request used)."""
    found = set()
    for url in urls:
        try:
            found.add(normalise(url).origin)
        except UrlError:
            continue
    return found


def resolve(conn: Connection, raw: str, own_origins: set[str]) -> str | None:
    """The content a player's media URL shows, or None. No host-less matching: a bare path (a report's
    `media_url` may be one) is read relative to this service, where only its own /media/ resolves."""
    if raw.startswith("/") and not raw.startswith("//") and own_origins:
        raw = min(own_origins) + raw
    try:
        url = normalise(raw)
    except UrlError:
        return None
    if url.kind == PREFIX:  # a trailing * in a player's URL is a literal character
        url = HostingUrl(EXACT, url.url + "*", url.origin)
    own = _OWN_MEDIA.match(url.path.split("?", 1)[0])
    if own and url.origin in own_origins and registry.exists(conn, own.group(1)):
        return own.group(1)
    return _resolve(conn, url.url)
