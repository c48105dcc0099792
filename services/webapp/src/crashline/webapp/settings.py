"""Webapp settings: ``CRASHLINE_WEBAPP_*`` on top of the common ``CRASHLINE_*`` ones."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from crashline.common.settings import CommaList, CommonSettings


class WebappSettings(CommonSettings):
    service_name: str = "webapp"

    # gunicorn
    webapp_bind: str = "127.0.0.1:8080"
    webapp_workers: int = Field(2, ge=1)
    webapp_threads: int = Field(4, ge=1)
    webapp_worker_class: str = Field("gthread", pattern="^(gthread|sync)$")
    webapp_timeout: int = Field(120, ge=1)

    # Rate limits: requests per window per client; 0 disables a limit.
    webapp_rate_limit_anonymous: int = Field(100, ge=0)
    webapp_rate_limit_authenticated: int = Field(1000, ge=0)
    webapp_rate_limit_window: int = Field(60, ge=1)
    # Behind a reverse proxy that sets X-Real-IP, the client is that address; elsewhere the
    # header is client-controlled and must be ignored.
    webapp_trust_x_real_ip: bool = False
    # Origins (scheme://host[:port]) whose pages may read token-authenticated API answers;
    # anonymous answers are readable from any origin.
    webapp_cors_token_origins: CommaList = Field(default_factory=list)

    # Tokens created without an explicit expiry live this many days.
    webapp_token_days: int = Field(90, ge=1)
    # Asking for an unprocessed crash queues it on the priority queue at most this often.
    webapp_priority_interval: int = Field(60, ge=1)
    # How long the list of existing search indices is trusted before asking the engine again.
    webapp_index_cache_seconds: float = Field(5.0, ge=0)
    # /__heartbeat__ checks every backend; its result is reused for this long.
    webapp_heartbeat_cache_seconds: float = Field(5.0, ge=0)
    # Most crashes one CrashSignature request may carry.
    webapp_max_signature_jobs: int = Field(100, ge=1)


@lru_cache(maxsize=1)
def get_webapp_settings() -> WebappSettings:
    return WebappSettings()
