"""Build the configured crash storage."""

from __future__ import annotations

from concurrent.futures import Executor

from crashline.common.settings import CommonSettings, StorageBackend, get_settings
from crashline.common.storage.base import CrashStorage


def storage_from_settings(settings: CommonSettings | None = None, *, connections: int = 32,
                          executor: Executor | None = None) -> CrashStorage:
    """``connections``: threads that may use the storage at once (S3's connection pool);
    ``executor``: runs the writes of one step of a crash at once (see ``ObjectStore``)."""
    settings = settings or get_settings()
    if settings.storage_backend is StorageBackend.S3:
        from crashline.common.storage.s3 import S3ObjectStore

        store = S3ObjectStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,  # empty: AWS itself
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            connections=connections,
            executor=executor,
        )
        if settings.s3_create_bucket:
            store.ensure_bucket()
        return CrashStorage(store)

    from crashline.common.storage.local import LocalObjectStore

    return CrashStorage(LocalObjectStore(settings.storage_path, fsync=settings.storage_fsync,
                                         executor=executor))
