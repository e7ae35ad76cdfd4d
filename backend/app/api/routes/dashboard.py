"""Dashboard aggregates, cached in Redis (TTL DASHBOARD_CACHE_TTL_SECONDS, dropped on every relevant write)."""

from fastapi import APIRouter

from app.api import API_V1
from app.api.deps import Conn, CurrentUser, RedisDep, SettingsDep
from app.cache import DASHBOARD_KEYS, cached_json
from app.schemas import DashboardLine, DashboardSummary
from app.services import dashboard

router = APIRouter(prefix=f"{API_V1}/dashboard", tags=["dashboard"])
LINES_KEY, SUMMARY_KEY = DASHBOARD_KEYS


@router.get("/lines")
async def lines(conn: Conn, redis: RedisDep, settings: SettingsDep, _: CurrentUser) -> list[DashboardLine]:
    return await cached_json(redis, LINES_KEY, settings.DASHBOARD_CACHE_TTL_SECONDS,
                             lambda: dashboard.lines_overview(conn))


@router.get("/summary")
async def summary(conn: Conn, redis: RedisDep, settings: SettingsDep, _: CurrentUser) -> DashboardSummary:
    return await cached_json(redis, SUMMARY_KEY, settings.DASHBOARD_CACHE_TTL_SECONDS,
                             lambda: dashboard.summary(conn))
