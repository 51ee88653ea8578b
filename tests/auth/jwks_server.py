"""A real JWKS endpoint on a loopback port (in a thread), and an identity provider's keys.

The server counts fetches, can rotate its keys, answer 5xx or a body that is not a key set,
hold responses until released (a slow or hung provider), and stop (connection refused).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

HOLD_LIMIT = 30.0  # a held response is released by then at the latest


@dataclass
class SigningKey:
    """A provider's private key, published in the JWKS under `kid`."""

    kid: str
    algorithm: str  # "RS256" or "ES256"
    private: Any

    @classmethod
    def generate(cls, kid: str, algorithm: str) -> SigningKey:
        """A fresh RSA-2048 (RS256) or P-256 (ES256) key."""
        if algorithm == "RS256":
            return cls(
                kid, algorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )
        return cls(kid, algorithm, ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        """The public JWK, as providers publish it (RSA with `alg`, EC without: it is derived)."""
        public = self.private.public_key()
        if self.algorithm == "RS256":
            data: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
            data["alg"] = "RS256"
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "use": "sig"}

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        org_id: str,
        sub: str = "idp-user",
        role: str = "member",
        expires_in: float = 3600,
        header: dict[str, Any] | None = None,
        algorithm: str | None = None,
    ) -> str:
        """A JWT signed with this key, `kid` in its header (`header` overrides it)."""
        now = time.time()
        payload: dict[str, Any] = {
            "sub": sub,
            "org_id": org_id,
            "role": role,
            "exp": int(now + expires_in),
            "iat": int(now),
        }
        payload.update(claims or {})
        headers = {"kid": self.kid, **(header or {})}
        return jwt.encode(
            payload, self.private, algorithm=algorithm or self.algorithm, headers=headers
        )


class JWKSServer:
    """`GET /jwks.json` on 127.0.0.1, served from a thread."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.status = 200
        self.body: bytes | None = None  # sent instead of the key set when set
        self.cache_control: str | None = None
        self._released = threading.Event()
        self._released.set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"

    def publish(self, *keys: SigningKey) -> None:
        """Serve exactly these keys from now on (a rotation drops the ones not listed)."""
        self.keys = [key.jwk() for key in keys]

    def hold(self) -> None:
        """Accept requests but answer none until `release` (a hung provider)."""
        self._released.clear()

    def release(self) -> None:
        """Answer held and later requests again."""
        self._released.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close the port: from now on a fetch is refused."""
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.fetches += 1
                server._released.wait(HOLD_LIMIT)
                body = server.body
                if body is None:
                    body = json.dumps({"keys": server.keys}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if server.cache_control is not None:
                    self.send_header("Cache-Control", server.cache_control)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
