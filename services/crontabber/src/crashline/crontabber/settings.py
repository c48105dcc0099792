"""Crontabber settings: ``CRASHLINE_CRONTABBER_*`` on top of the common ``CRASHLINE_*`` ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr

from crashline.common.settings import CommonSettings


class CrontabberSettings(CommonSettings):
    service_name: str = "crashline-crontabber"
    metrics_port: int = 9190  # the processors count up from 9101

    # The runner
    crontabber_poll_seconds: float = Field(30.0, gt=0)  # daemon: seconds between passes
    # A lock whose holder has not refreshed it for this long is taken over (its process died).
    crontabber_lock_timeout: float = Field(600.0, gt=0)
    # After a failure a job waits base, 2 x base, 4 x base... seconds, at most max.
    crontabber_backoff_base: float = Field(60.0, gt=0)
    crontabber_backoff_max: float = Field(3600.0, gt=0)
    # A job is stale (and /__heartbeat__ fails) when its last success is older than twice
    # its frequency plus this many seconds.
    crontabber_stale_grace: float = Field(900.0, ge=0)
    crontabber_log_retention_days: int = Field(180, ge=1)
    # A backfilling job runs at most this many missed slots a pass, oldest first.
    crontabber_max_slots_per_run: int = Field(24, ge=1)

    # verify-processed: closed days checked per run, and how many unresolved records a run
    # looks at again.
    crontabber_verify_days: int = Field(2, ge=1)
    crontabber_verify_recheck_limit: int = Field(10_000, ge=1)
    # Parallel existence checks against crash storage (verify-processed, ledger).
    crontabber_storage_threads: int = Field(16, ge=1)

    # storage-retention: 0 keeps crashes forever (the default); the job then does nothing.
    crontabber_storage_retention_days: int = Field(0, ge=0)
    # How many days before the retention limit each run looks at.
    crontabber_storage_retention_scan_days: int = Field(30, ge=1)

    # bug-associations: a Bugzilla REST API (e.g. https://bugzilla.mozilla.org/rest); empty
    # disables the job.
    crontabber_bugzilla_url: str = ""
    crontabber_bugzilla_api_key: SecretStr = SecretStr("")
    crontabber_bugzilla_timeout: float = Field(60.0, gt=0)
    crontabber_bugzilla_max_bytes: int = Field(100 * 1024 * 1024, ge=1024)

    # failed-crashes: a crash that failed for a transient reason goes back to its queue this
    # many seconds after it failed, at most this many times.
    crontabber_failed_cooldown: float = Field(3600.0, ge=0)
    crontabber_failed_max_requeues: int = Field(5, ge=0)

    # ledger: every hour this recent is counted again on each run; unbalanced hours are
    # counted again until they are this old.
    crontabber_ledger_recount_hours: int = Field(3, ge=1)
    crontabber_ledger_recheck_hours: int = Field(48, ge=1)
    # Crash ids kept per kind of difference and hour (the counts are always exact).
    crontabber_ledger_max_ids: int = Field(10_000, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> CrontabberSettings:
    return CrontabberSettings()
