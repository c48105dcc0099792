"""Crash storage in an S3 bucket (AWS, MinIO, moto) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from crashline.common.storage.base import CrashNotFound, ObjectStore, StorageError

_MISSING = {"404", "NoSuchKey", "NotFound"}


class _Body:
    """A streamed S3 object whose read errors are :class:`StorageError` like every other."""

    def __init__(self, body, where: str):
        self._body = body
        self._where = where

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(size if size >= 0 else None)
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"cannot read {self._where}: {exc}") from exc

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        connections: int = 32,
        executor: Executor | None = None,
    ):
        """``connections``: pooled connections to keep, at least the number of threads that
        use this store at once (more are opened, then discarded)."""
        self.bucket = bucket
        self.executor = executor
        # Retries are the caller's business (the collector retries with its own backoff).
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=connections,
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot write s3://{self.bucket}/{key}: {exc}") from exc

    def put_file(self, key: str, file: BinaryIO) -> None:
        file.seek(0)  # streamed by botocore, not read into memory
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=file)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot write s3://{self.bucket}/{key}: {exc}") from exc

    def _get_object(self, key: str) -> dict:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise CrashNotFound(key) from exc
            raise StorageError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        with self.open(key)[0] as body:
            return body.read()

    def open(self, key: str) -> tuple[BinaryIO, int]:
        answer = self._get_object(key)
        return _Body(answer["Body"], f"s3://{self.bucket}/{key}"), answer["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise StorageError(f"cannot stat s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot stat s3://{self.bucket}/{key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete s3://{self.bucket}/{key}: {exc}") from exc

    def list_keys(self, prefix: str) -> Iterator[str]:
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot list s3://{self.bucket}/{prefix}: {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (local stack and tests; production pre-creates)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except (BotoCoreError, ClientError) as exc:
                raise StorageError(f"cannot create bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach bucket {self.bucket}: {exc}") from exc

    def describe(self) -> str:
        return f"s3://{self.bucket}"
