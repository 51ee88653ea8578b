"""An identity provider's signing keys (a JWKS), fetched off the request path and kept by `kid`.

Providers rotate keys: a new `kid` appears in the set before tokens are signed with it, and
the old one goes later. So a known `kid` is answered from memory; when the cache goes stale
(the response's `Cache-Control: max-age`, or `JWT_JWKS_CACHE_SECONDS`), a refresh runs in the
background while requests keep using the keys they have. Only an unknown `kid` waits for a
fetch, and it may start one at most once per `JWT_JWKS_MIN_REFETCH_SECONDS`: anyone can send
a token with a made-up `kid`, and that must not turn into a request to the provider. Every
caller shares the fetch in flight. A fetch that fails (refused, timeout, 5xx, a body that is
not a key set) keeps the keys already known; PyJWT's `PyJWKClient` does not fit because it
fetches with blocking urllib on the caller's thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
from jwt import PyJWK, PyJWTError

from mechamental.clock import Clock

log = logging.getLogger("mechamental.auth.jwks")

# The only algorithms a provider's key may be used with (never HS*, never `none`).
JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
MAX_JWKS_BYTES = 512 * 1024  # real key sets are a few KiB; a larger answer is not one
MAX_CACHE_SECONDS = 24 * 3600  # a far-future max-age must not pin keys for weeks


def max_age(cache_control: str | None) -> float | None:
    """The `max-age` of a `Cache-Control` header, or None when absent or unreadable."""
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.strip().lower() == "max-age":
            try:
                return float(int(value.strip().strip('"')))
            except ValueError:
                return None
    return None


class JWKSFetchError(Exception):
    """The key set could not be fetched or read (the known keys stay in use)."""


class JWKSKeys:
    """The signing keys of one JWKS URL, by `kid`."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        cache_seconds: float,
        min_refetch_seconds: float,
        timeout_seconds: float,
    ) -> None:
        self.url = url
        self.clock = clock
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout_seconds = timeout_seconds
        self._keys: dict[str, PyJWK] = {}
        self._raw: dict[str, dict[str, Any]] = {}  # what each key was built from (reused if equal)
        self._fresh_until = float("-inf")  # clock time after which a refresh is due
        self._retry_at = float("-inf")  # a failed refresh is not retried before this
        self._unknown_fetch_at = float("-inf")  # when an unknown kid last started a fetch
        self._inflight: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        """Begin the first fetch in the background, so early requests find it under way."""
        self._begin_fetch()

    async def close(self) -> None:
        """Stop a fetch in flight and close the HTTP client (on shutdown)."""
        task, self._inflight = self._inflight, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def refreshing(self) -> bool:
        """Whether a fetch is in flight."""
        return self._inflight is not None

    def known(self, kid: str) -> PyJWK | None:
        """The key for `kid` from memory (never waits); a stale set starts a background refresh."""
        now = self.clock.now()
        if now >= self._fresh_until and now >= self._retry_at:
            self._begin_fetch()
        return self._keys.get(kid)

    async def lookup(self, kid: str) -> PyJWK | None:
        """The key for `kid`, fetching the set first if `kid` is unknown and the limit allows."""
        key = self.known(kid)
        if key is not None:
            return key
        if self._inflight is None:
            now = self.clock.now()
            if now - self._unknown_fetch_at < self.min_refetch_seconds:
                return None
            self._unknown_fetch_at = now
            self._begin_fetch()
        task = self._inflight
        if task is not None:
            # Shielded: a caller that goes away does not cancel the fetch the others wait on.
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # this caller was cancelled
                return None  # the fetch was cancelled (shutdown): a 401, not an error
        return self._keys.get(kid)

    def _begin_fetch(self) -> None:
        if self._inflight is None:
            self._inflight = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        """One fetch: on success the keys are replaced; on failure they stay and retry later."""
        try:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    jwks, ttl = await self._fetch()
                self._install(jwks)
            except (JWKSFetchError, httpx.HTTPError, TimeoutError) as exc:
                self._retry_at = self.clock.now() + self.min_refetch_seconds
                reason = str(exc) or type(exc).__name__
                log.warning(
                    "fetching the JWKS %s failed; known keys stay in use: %s", self.url, reason
                )
                return
            except Exception:
                # Whatever the provider sends, a request must get 401, never a 500.
                self._retry_at = self.clock.now() + self.min_refetch_seconds
                log.exception("reading the JWKS %s failed; known keys stay in use", self.url)
                return
            now = self.clock.now()
            self._fresh_until = now + min(max(ttl, self.min_refetch_seconds), MAX_CACHE_SECONDS)
            self._retry_at = float("-inf")
        finally:
            if self._inflight is asyncio.current_task():
                self._inflight = None

    async def _fetch(self) -> tuple[list[Any], float]:
        """The key set's `keys` and how long it is fresh; raises on anything but a key set."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_seconds, headers={"Accept": "application/json"}
            )
        async with self._client.stream("GET", self.url) as response:
            if response.status_code != 200:
                raise JWKSFetchError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JWKSFetchError("response too large")
            cache_control = response.headers.get("cache-control")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise JWKSFetchError("response is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JWKSFetchError("response has no 'keys' list")
        ttl = max_age(cache_control)
        return data["keys"], self.cache_seconds if ttl is None else ttl

    def _install(self, jwks: list[Any]) -> None:
        """Replace the keys with the usable ones of `jwks` (signing keys with a kid, RS256/ES256).

        A key whose JWK did not change keeps its object, so tokens verified with it stay
        cached; a removed key's tokens stop verifying at once.
        """
        keys: dict[str, PyJWK] = {}
        raw: dict[str, dict[str, Any]] = {}
        for jwk in jwks:
            if not isinstance(jwk, dict):
                continue
            kid = jwk.get("kid")
            if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
                continue
            if self._raw.get(kid) == jwk:
                keys[kid], raw[kid] = self._keys[kid], jwk
                continue
            try:
                key = PyJWK(jwk)
            except (PyJWTError, KeyError, TypeError, ValueError, AttributeError):
                continue  # a key type or curve we do not use, or a malformed member
            if key.algorithm_name in JWKS_ALGORITHMS:
                keys[kid], raw[kid] = key, jwk
        if not keys:
            raise JWKSFetchError("no usable RS256/ES256 signing key with a kid")
        self._keys, self._raw = keys, raw
