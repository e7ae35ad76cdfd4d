"""Request dependencies: database connection, current user, role checks, idempotency key.

All are `async def`, even without I/O, so FastAPI runs them on the event loop, not in a thread."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import asyncpg
import jwt
import redis.asyncio as aioredis
from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app import db
from app.core.config import Settings
from app.core.security import Role, TokenClaims, TokenType, decode_token
from app.storage import ObjectStorage


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_conn(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with db.acquire(request.app.state.pool, request.app.state.settings) as conn:
        yield conn


async def get_redis(request: Request) -> aioredis.Redis:
    return request.app.state.redis


async def get_storage(request: Request) -> ObjectStorage:
    return request.app.state.storage


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Conn = Annotated[asyncpg.Connection, Depends(get_conn)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]
StorageDep = Annotated[ObjectStorage, Depends(get_storage)]

_bearer = HTTPBearer(auto_error=False)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> TokenClaims:
    """Stateless: the signed access token carries the user id and role, so auth needs no I/O."""
    if credentials is None:
        raise unauthorized("not authenticated")
    try:
        return decode_token(credentials.credentials, TokenType.ACCESS, settings)
    except jwt.InvalidTokenError:
        raise unauthorized("invalid or expired token") from None


CurrentUser = Annotated[TokenClaims, Depends(get_current_user)]


def require_roles(allowed: frozenset[Role]) -> Callable[[TokenClaims], Awaitable[TokenClaims]]:
    async def check(user: CurrentUser) -> TokenClaims:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not do this")
        return user

    return check


async def idempotency_key(
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> str | None:
    return idempotency_key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def resolve_client_ref(body_ref: str | None, header_ref: str | None) -> str | None:
    """The key may come in the body (`client_ref`) or the Idempotency-Key header, not two different ones."""
    if body_ref and header_ref and body_ref != header_ref:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "client_ref and Idempotency-Key header differ"
        )
    return body_ref or header_ref


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")
