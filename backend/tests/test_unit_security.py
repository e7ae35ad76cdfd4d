"""Password hashing and JWTs, alone."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.core.config import Settings
from app.core.security import (Role, TokenClaims, TokenType, create_token, decode_token, hash_password,
                               verify_password)

SETTINGS = Settings(
    SECRET_KEY="s" * 40, DATABASE_URL="postgresql://x@y/z", REDIS_URL="redis://r", MINIO_ENDPOINT="m:9000",
    MINIO_ACCESS_KEY="a", MINIO_SECRET_KEY="b",
)
CLAIMS = TokenClaims(uuid.uuid4(), "op1", Role.OPERATOR)


def test_password_hash_round_trip():
    encoded = hash_password("correct horse")
    assert encoded.startswith("scrypt$")
    assert verify_password("correct horse", encoded)
    assert not verify_password("wrong horse", encoded)
    assert hash_password("correct horse") != encoded  # salted


def test_malformed_hash_never_verifies():
    assert not verify_password("x", "plain-text")


def test_token_round_trip():
    token = create_token(CLAIMS, TokenType.ACCESS, SETTINGS)
    assert decode_token(token, TokenType.ACCESS, SETTINGS) == CLAIMS


def test_refresh_token_is_not_an_access_token():
    token = create_token(CLAIMS, TokenType.REFRESH, SETTINGS)
    with pytest.raises(jwt.InvalidTokenError):
        decode_token(token, TokenType.ACCESS, SETTINGS)


def test_expired_and_foreign_tokens_are_rejected():
    expired = jwt.encode(
        {"sub": str(CLAIMS.user_id), "role": "operator", "type": "access",
         "exp": datetime.now(UTC) - timedelta(seconds=1)},
        SETTINGS.SECRET_KEY.get_secret_value(), algorithm="HS256",
    )
    foreign = jwt.encode({"sub": str(CLAIMS.user_id), "role": "admin", "type": "access",
                          "exp": datetime.now(UTC) + timedelta(minutes=5)}, "another-key" * 4, algorithm="HS256")
    for token in (expired, foreign, "not-a-jwt"):
        with pytest.raises(jwt.InvalidTokenError):
            decode_token(token, TokenType.ACCESS, SETTINGS)


def test_unknown_role_is_rejected():
    token = jwt.encode({"sub": str(CLAIMS.user_id), "role": "superuser", "type": "access",
                        "exp": datetime.now(UTC) + timedelta(minutes=5)},
                       SETTINGS.SECRET_KEY.get_secret_value(), algorithm="HS256")
    with pytest.raises(jwt.InvalidTokenError):
        decode_token(token, TokenType.ACCESS, SETTINGS)
