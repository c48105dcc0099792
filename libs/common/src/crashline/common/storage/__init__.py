"""Crash storage: one interface, two backends (local disk and S3) with one key layout."""

from crashline.common.storage.base import CrashNotFound, CrashStorage, ObjectStore, StorageError
from crashline.common.storage.factory import storage_from_settings

__all__ = ["CrashNotFound", "CrashStorage", "ObjectStore", "StorageError", "storage_from_settings"]
