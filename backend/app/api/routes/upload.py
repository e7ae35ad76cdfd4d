"""File upload into the uploads bucket (photos of defects, documents)."""

import re
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, UploadFile, status

from app.api import API_V1
from app.api.deps import SettingsDep, StorageDep, require_roles
from app.core.security import FLOOR_WRITERS
from app.schemas import UploadOut

router = APIRouter(prefix=f"{API_V1}/upload", tags=["upload"])


def object_key(filename: str | None) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename or "upload")[-100:] or "upload"
    return f"{datetime.now(UTC):%Y/%m}/{uuid.uuid4().hex}-{safe}"


@router.post("/", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require_roles(FLOOR_WRITERS))])
async def upload(file: UploadFile, storage: StorageDep, settings: SettingsDep) -> UploadOut:
    body = await file.read(settings.UPLOAD_MAX_BYTES + 1)
    if len(body) > settings.UPLOAD_MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"file exceeds {settings.UPLOAD_MAX_BYTES} bytes")
    key = object_key(file.filename)
    content_type = file.content_type or "application/octet-stream"
    bucket = settings.MINIO_BUCKET_UPLOADS
    await storage.put(bucket, key, body, content_type)
    return UploadOut(bucket=bucket, key=key, size=len(body), content_type=content_type,
                     download_url=storage.download_url(bucket, key))
