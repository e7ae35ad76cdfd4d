"""Login, refresh, profile, users; 401 for bad tokens, 403 for wrong roles, 422 for bad bodies."""

from datetime import UTC, datetime, timedelta

import jwt

from .services import ADMIN_PASSWORD, SECRET_KEY


def test_login_refresh_and_profile(client):
    tokens = client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    profile = client.get("/api/v1/auth/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert profile.status_code == 200
    assert profile.json()["username"] == "admin" and profile.json()["role"] == "admin"
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert client.get("/api/v1/auth/profile",
                      headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}).status_code == 200


def test_wrong_password_is_401(client):
    response = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_missing_bad_and_expired_tokens_are_401(client, admin):
    expired = jwt.encode({"sub": "00000000-0000-0000-0000-000000000000", "role": "admin", "type": "access",
                          "exp": datetime.now(UTC) - timedelta(minutes=1)}, SECRET_KEY, algorithm="HS256")
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Bearer {expired}"}):
        assert client.get("/api/v1/auth/profile", headers=headers).status_code == 401


def test_access_token_cannot_refresh(client, admin):
    access = admin["Authorization"].split()[1]
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": access}).status_code == 401


def test_invalid_body_lists_field_errors(client):
    response = client.post("/api/v1/auth/login", json={"username": ""})
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert ("body", "username") in fields and ("body", "password") in fields


def test_only_admin_manages_users(client, users, backend):
    body = {"username": backend.unique("u"), "password": "password-123", "role": "operator"}
    assert client.post("/api/v1/users/", headers=users.headers("production_manager"), json=body).status_code == 403
    assert client.get("/api/v1/users/", headers=users.headers("viewer")).status_code == 403
    assert client.post("/api/v1/users/", headers=users.admin, json=body).status_code == 201
    assert client.post("/api/v1/users/", headers=users.admin, json=body).status_code == 409
    bad_role = client.post("/api/v1/users/", headers=users.admin, json={**body, "role": "superuser"})
    assert bad_role.status_code == 422


def test_every_role_can_log_in_and_read(client, users):
    for role in ("admin", "production_manager", "shift_manager", "engineer", "operator", "maintenance", "quality",
                 "viewer"):
        headers = users.admin if role == "admin" else users.headers(role)
        profile = client.get("/api/v1/auth/profile", headers=headers)
        assert profile.json()["role"] == role
        assert client.get("/api/v1/production/lines", headers=headers).status_code == 200
