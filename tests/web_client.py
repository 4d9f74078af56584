"""Logging a test's HTTP client in as one of the cast (the API's log-in, then its CSRF
header on every later call)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custodes.entrypoints.web.deps import CSRF_HEADER

from .grant_setup import Person


def log_in(client: TestClient, who: Person) -> TestClient:
    """`client`, its cookies cleared, logged in as `who`."""
    client.cookies.clear()
    res = client.post(
        "/api/v1/auth/login", json={"username": who.username, "password": who.password}
    )
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client
