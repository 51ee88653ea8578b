"""`/ui` is served in development and switched off by `MECHAMENTAL_UI=false` (or outside dev)."""

from __future__ import annotations

import httpx
import pytest

from mechamental.app import create_app
from mechamental.config import Settings


@pytest.mark.parametrize(
    ("env", "ui", "served"),
    [
        ("development", None, True),
        ("development", False, False),
        ("production", None, False),
        ("production", True, True),
    ],
)
async def test_the_dashboard_follows_the_setting(env: str, ui: bool | None, served: bool) -> None:
    settings = Settings(
        env=env,  # type: ignore[arg-type]
        ui=ui,
        database_url="sqlite+aiosqlite:///:memory:",
        secret_key="s" * 40,
    )
    assert settings.ui_enabled is served
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/ui")
    assert response.status_code == (200 if served else 404)
    if served:
        assert '<script type="module" src="/ui/assets/dashboard.js">' in response.text
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
