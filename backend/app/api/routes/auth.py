"""Login, token refresh and the caller's profile."""

import jwt
from fastapi import APIRouter

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, SettingsDep, not_found, unauthorized
from app.core.config import Settings
from app.core.security import Role, TokenClaims, TokenType, create_token, decode_token, verify_password
from app.schemas import LoginRequest, RefreshRequest, TokenPair, UserOut

router = APIRouter(prefix=f"{API_V1}/auth", tags=["auth"])


def issue_tokens(claims: TokenClaims, settings: Settings) -> TokenPair:
    return TokenPair(
        access_token=create_token(claims, TokenType.ACCESS, settings),
        refresh_token=create_token(claims, TokenType.REFRESH, settings),
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    )


@router.post("/login")
async def login(body: LoginRequest, conn: Conn, settings: SettingsDep) -> TokenPair:
    user = await conn.fetchrow(
        "SELECT id, username, role, password_hash FROM users WHERE username = $1 AND is_active", body.username
    )
    if user is None or not verify_password(body.password, user["password_hash"]):
        raise unauthorized("incorrect username or password")
    return issue_tokens(TokenClaims(user["id"], user["username"], Role(user["role"])), settings)


@router.post("/refresh")
async def refresh(body: RefreshRequest, conn: Conn, settings: SettingsDep) -> TokenPair:
    """Refreshing re-reads the account, so a deactivated user or changed role takes effect here."""
    try:
        claims = decode_token(body.refresh_token, TokenType.REFRESH, settings)
    except jwt.InvalidTokenError:
        raise unauthorized("invalid or expired refresh token") from None
    user = await conn.fetchrow("SELECT username, role FROM users WHERE id = $1 AND is_active", claims.user_id)
    if user is None:
        raise unauthorized("account no longer active")
    return issue_tokens(TokenClaims(claims.user_id, user["username"], Role(user["role"])), settings)


@router.get("/profile")
async def profile(user: CurrentUser, conn: Conn) -> UserOut:
    row = await conn.fetchrow("SELECT * FROM users WHERE id = $1", user.user_id)
    if row is None:
        raise not_found("user")
    return UserOut.model_validate(dict(row))
