"""User accounts (admin only): the floor staff the role checks are about."""

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, status

from app.api import API_V1
from app.api.deps import Conn, require_roles
from app.core.security import Role, hash_password
from app.schemas import UserCreate, UserOut

router = APIRouter(prefix=f"{API_V1}/users", tags=["users"], dependencies=[Depends(require_roles(frozenset({Role.ADMIN})))])


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, conn: Conn) -> UserOut:
    try:
        row = await conn.fetchrow(
            """INSERT INTO users (username, email, password_hash, role, first_name, last_name)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
            body.username, body.email, hash_password(body.password), body.role.value, body.first_name, body.last_name,
        )
    except asyncpg.UniqueViolationError:
        raise HTTPException(status.HTTP_409_CONFLICT, "username or email already exists") from None
    return UserOut.model_validate(dict(row))


@router.get("/")
async def list_users(conn: Conn) -> list[UserOut]:
    rows = await conn.fetch("SELECT * FROM users ORDER BY username")
    return [UserOut.model_validate(dict(row)) for row in rows]
