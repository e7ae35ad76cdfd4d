"""Password hashing, JWTs and the role model."""

import base64
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from app.core.config import Settings


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCTION_MANAGER = "production_manager"
    SHIFT_MANAGER = "shift_manager"
    ENGINEER = "engineer"
    OPERATOR = "operator"
    MAINTENANCE = "maintenance"
    QUALITY = "quality"
    VIEWER = "viewer"


MANAGERS = frozenset({Role.ADMIN, Role.PRODUCTION_MANAGER})
SUPERVISORS = MANAGERS | {Role.SHIFT_MANAGER}
ANALYSTS = SUPERVISORS | {Role.ENGINEER, Role.QUALITY}
RESPONDERS = SUPERVISORS | {Role.ENGINEER, Role.MAINTENANCE, Role.QUALITY}
FLOOR_WRITERS = frozenset(Role) - {Role.VIEWER}

# scrypt cost: ~30 ms per login on a small pod, far above brute-force comfort.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    username: str
    role: Role


def create_token(claims: TokenClaims, token_type: TokenType, settings: Settings) -> str:
    lifetime = (
        timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
        if token_type is TokenType.ACCESS
        else timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)
    )
    now = datetime.now(UTC)
    payload = {
        "sub": str(claims.user_id),
        "username": claims.username,
        "role": claims.role.value,
        "type": token_type.value,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, settings.SECRET_KEY.get_secret_value(), algorithm=settings.ALGORITHM)


def decode_token(token: str, expected_type: TokenType, settings: Settings) -> TokenClaims:
    """Raise jwt.InvalidTokenError for anything but a valid, unexpired token of the expected type."""
    payload = jwt.decode(
        token,
        settings.SECRET_KEY.get_secret_value(),
        algorithms=[settings.ALGORITHM],
        options={"require": ["sub", "exp", "type", "role"]},
    )
    if payload["type"] != expected_type.value:
        raise jwt.InvalidTokenError(f"expected a {expected_type.value} token")
    try:
        return TokenClaims(uuid.UUID(payload["sub"]), payload.get("username", ""), Role(payload["role"]))
    except ValueError as error:
        raise jwt.InvalidTokenError(str(error)) from error
