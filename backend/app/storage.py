"""S3-API object storage (MinIO in the cluster); boto3 calls run in threads with short timeouts."""

import asyncio

import boto3
from botocore.config import Config

from app.core.config import Settings


class ObjectStorage:
    def __init__(self, settings: Settings):
        self._expires = settings.PRESIGNED_URL_EXPIRE_SECONDS
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.minio_endpoint_url,
            aws_access_key_id=settings.MINIO_ACCESS_KEY.get_secret_value(),
            aws_secret_access_key=settings.MINIO_SECRET_KEY.get_secret_value(),
            region_name=settings.MINIO_REGION,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=2,
                read_timeout=10,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    async def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object, Bucket=bucket, Key=key, Body=body, ContentType=content_type
        )

    async def bucket_exists(self, bucket: str) -> None:
        """Raise if the bucket is missing or the server does not answer."""
        await asyncio.to_thread(self._client.head_bucket, Bucket=bucket)

    def download_url(self, bucket: str, key: str) -> str:
        """Presigning is local computation: no request reaches the server."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self._expires
        )
