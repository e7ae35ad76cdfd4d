"""Request and response bodies of the HTTP API."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.security import Role

ClientRef = Annotated[
    str | None,
    Field(default=None, min_length=1, max_length=128, description="Idempotency key; also accepted as the Idempotency-Key header"),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- auth and users -------------------------------------------------------------


class LoginRequest(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserCreate(Body):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class UserOut(Out):
    id: uuid.UUID
    username: str
    email: str | None
    role: Role
    first_name: str | None
    last_name: str | None
    is_active: bool
    created_at: datetime


# --- production lines -------------------------------------------------------------


class LineCreate(Body):
    line_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    ideal_cycle_time_seconds: float = Field(default=1.0, gt=0, le=86400)
    enabled: bool = True


class LineUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    ideal_cycle_time_seconds: float | None = Field(default=None, gt=0, le=86400)
    enabled: bool | None = None


class LineOut(Out):
    id: uuid.UUID
    line_code: str
    name: str
    description: str | None
    ideal_cycle_time_seconds: float
    enabled: bool
    created_at: datetime
    updated_at: datetime


# --- jobs -----------------------------------------------------------------------------


class JobStatus(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class JobAssign(Body):
    user_id: uuid.UUID
    line_id: uuid.UUID
    notes: str | None = Field(default=None, max_length=2000)
    client_ref: ClientRef


class JobOut(Out):
    id: uuid.UUID
    user_id: uuid.UUID
    line_id: uuid.UUID
    status: JobStatus
    notes: str | None
    assigned_by: uuid.UUID | None
    client_ref: str | None
    assigned_at: datetime
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None


# --- OEE --------------------------------------------------------------------------------


class OeeCalculate(Body):
    line_id: uuid.UUID
    period_start: datetime | None = None
    period_end: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "OeeCalculate":
        if self.period_start and self.period_end and self.period_start >= self.period_end:
            raise ValueError("period_start must be before period_end")
        return self


class OeeOut(Out):
    line_id: uuid.UUID
    calculation_time: datetime
    period_start: datetime
    period_end: datetime
    availability: float
    performance: float
    quality: float
    oee: float
    planned_time_seconds: float
    downtime_seconds: float
    good_parts: int
    total_parts: int


class TrendBucket(StrEnum):
    FIVE_MINUTES = "5m"
    FIFTEEN_MINUTES = "15m"
    HOUR = "1h"
    DAY = "1d"


class OeeTrendPoint(BaseModel):
    bucket: datetime
    availability: float
    performance: float
    quality: float
    oee: float
    good_parts: int
    total_parts: int
    samples: int


# --- Andon --------------------------------------------------------------------------------


class AndonEventType(StrEnum):
    STOP = "stop"
    QUALITY = "quality"
    MAINTENANCE = "maintenance"
    MATERIAL = "material"


class AndonPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AndonStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class AndonCreate(Body):
    line_id: uuid.UUID
    event_type: AndonEventType
    priority: AndonPriority
    description: str = Field(min_length=1, max_length=2000)
    equipment_code: str | None = Field(default=None, max_length=64)
    client_ref: ClientRef


class AndonResolve(Body):
    resolution_notes: str | None = Field(default=None, max_length=2000)


class AndonOut(Out):
    id: uuid.UUID
    line_id: uuid.UUID
    equipment_code: str | None
    event_type: AndonEventType
    priority: AndonPriority
    status: AndonStatus
    description: str
    reported_by: uuid.UUID | None
    acknowledged_by: uuid.UUID | None
    resolved_by: uuid.UUID | None
    resolution_notes: str | None
    client_ref: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None


# --- downtime and equipment -------------------------------------------------------------


class DowntimeCategory(StrEnum):
    PLANNED = "planned"
    UNPLANNED = "unplanned"
    CHANGEOVER = "changeover"
    MAINTENANCE = "maintenance"
    MATERIAL = "material"
    QUALITY = "quality"


class DowntimeCreate(Body):
    line_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)
    category: DowntimeCategory
    start_time: datetime
    end_time: datetime | None = None
    equipment_code: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=2000)
    client_ref: ClientRef

    @model_validator(mode="after")
    def _ordered(self) -> "DowntimeCreate":
        if self.end_time and self.end_time < self.start_time:
            raise ValueError("end_time must not be before start_time")
        return self


class DowntimeOut(Out):
    id: uuid.UUID
    line_id: uuid.UUID
    equipment_code: str | None
    reason: str
    category: DowntimeCategory
    start_time: datetime
    end_time: datetime | None
    notes: str | None
    reported_by: uuid.UUID | None
    client_ref: str | None
    created_at: datetime


class EquipmentStatusOut(BaseModel):
    equipment_code: str
    name: str
    line_id: uuid.UUID | None
    line_code: str | None
    status: Literal["running", "down", "offline", "disabled"]
    last_seen: datetime | None


# --- dashboard ----------------------------------------------------------------------------


class DashboardLine(BaseModel):
    line_id: uuid.UUID
    line_code: str
    name: str
    status: Literal["running", "stopped", "disabled"]
    active_andon_events: int
    open_downtime_events: int
    oee: float | None
    availability: float | None
    performance: float | None
    quality: float | None
    oee_calculated_at: datetime | None


class DashboardSummary(BaseModel):
    total_lines: int
    running_lines: int
    stopped_lines: int
    active_andon_events: int
    active_andon_by_priority: dict[str, int]
    open_downtime_events: int
    jobs_in_progress: int
    average_oee: float | None


# --- reports and uploads ------------------------------------------------------------------


class ReportRequest(Body):
    line_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    client_ref: ClientRef

    @model_validator(mode="after")
    def _ordered(self) -> "ReportRequest":
        if self.period_start >= self.period_end:
            raise ValueError("period_start must be before period_end")
        return self


class ReportOut(Out):
    id: uuid.UUID
    report_type: str
    status: Literal["pending", "running", "completed", "failed"]
    parameters: dict
    error: str | None
    client_ref: str | None
    created_at: datetime
    completed_at: datetime | None
    download_url: str | None = None


class UploadOut(BaseModel):
    bucket: str
    key: str
    size: int
    content_type: str
    download_url: str
