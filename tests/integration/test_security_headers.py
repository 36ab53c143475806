"""Security headers on every kind of answer, and cookies that stay on HTTPS in production."""

import re

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import Factory


def test_every_answer_has_the_security_headers(client: TestClient, make: Factory) -> None:
    event = make.event()
    page = client.get(f"/e/{event.join_code}/join")
    asset = re.search(r'src="(/static/[^"]+)"', page.text)
    assert asset is not None
    for response in (
        page,
        client.get("/no-such-page"),
        client.get(asset.group(1)),
        client.get("/api/v1/openapi.json"),
        client.get("/sw.js"),
        client.post("/language", data={"language": "pl"}),  # refused: no CSRF token
    ):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain HTTP in tests


def test_no_page_has_inline_script(client: TestClient, make: Factory) -> None:
    event = make.event()
    for path in ("/", f"/e/{event.join_code}/join", "/login", "/offline"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_production_cookies_are_secure_and_https_is_remembered(settings: Settings) -> None:
    production = settings.model_copy(update={"base_url": "https://openspace.example.org"})
    with TestClient(create_app(production), base_url="https://openspace.example.org") as https:
        answer = https.get("/login")
        assert "max-age=31536000" in answer.headers["strict-transport-security"]
        cookies = answer.headers.get_list("set-cookie")
        assert cookies and all("Secure" in cookie for cookie in cookies)
