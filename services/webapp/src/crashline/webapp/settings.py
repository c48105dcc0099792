"""Webapp settings: ``CRASHLINE_WEBAPP_*`` on top of the common ``CRASHLINE_*`` ones."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from crashline.common.settings import CommaList, CommonSettings
from crashline.webapp.pages.sources import check_template

# Source links of stack frames (see pages/sources.py): version-control paths of the usual
# hosts; plain build paths link nowhere until a "path" template is set.
DEFAULT_SOURCE_URLS = {
    "hg": "https://{root}/file/{rev}/{path}#l{line}",
    "git": "https://{root}/blob/{rev}/{path}#L{line}",
    "git:gitlab.com": "https://{root}/-/blob/{rev}/{path}#L{line}",
}


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

    # Tokens created without an explicit expiry live this many days; the token page offers
    # at most webapp_token_max_days.
    webapp_token_days: int = Field(90, ge=1)
    webapp_token_max_days: int = Field(365, ge=1)

    # Sign-in sessions: a session ends after this many idle hours, and in any case this many
    # days after sign-in.
    webapp_session_idle_hours: int = Field(24, ge=1)
    webapp_session_max_days: int = Field(14, ge=1)
    # Secure cookies (with the __Host- prefix). Browsers take them from https:// and from
    # http://localhost or 127.0.0.1; turn off only for plain http on another host.
    webapp_cookie_secure: bool = True
    # Sign-in attempts per rate-limit window, per account name and per client address.
    webapp_login_rate_limit_account: int = Field(5, ge=0)
    webapp_login_rate_limit_client: int = Field(20, ge=0)
    # Page views that run searches (Super Search, signature, top crashers) per window:
    # per address when signed out, per user when signed in.
    webapp_rate_limit_search_anonymous: int = Field(10, ge=0)
    webapp_rate_limit_search_authenticated: int = Field(100, ge=0)
    # The profile page's answer to "how do I get more permissions?" (text; empty: ask one
    # of the administrators, who are listed).
    webapp_access_request: str = ""
    # How long a status message change takes to reach the other web workers.
    webapp_status_cache_seconds: float = Field(5.0, ge=0)

    # The "send us crashes" page: where crash reporters post.
    webapp_collector_url: str = "http://127.0.0.1:8000/submit"
    # The monitoring page: each service's base URL, whose /__heartbeat__ it shows.
    webapp_monitor_services: dict[str, str] = Field(default_factory=lambda: {
        "collector": "http://127.0.0.1:8000", "processor": "http://127.0.0.1:9101",
        "crontabber": "http://127.0.0.1:9190"})
    webapp_monitor_timeout: float = Field(3.0, gt=0)
    # No job run for this long: the monitoring page says the crontabber is not running.
    webapp_crontabber_quiet_minutes: int = Field(15, ge=1)
    # Asking for an unprocessed crash queues it on the priority queue at most this often.
    webapp_priority_interval: int = Field(60, ge=1)
    # How long the list of existing search indices is trusted before asking the engine again.
    webapp_index_cache_seconds: float = Field(5.0, ge=0)
    # API tokens each worker keeps resolved in memory (0: looked up on every request). An
    # entry is trusted only until any account changes (auth/tokencache.py).
    webapp_token_cache_size: int = Field(10_000, ge=0)
    # /__heartbeat__ checks every backend; its result is reused for this long.
    webapp_heartbeat_cache_seconds: float = Field(5.0, ge=0)
    # Most crashes one CrashSignature request may carry.
    webapp_max_signature_jobs: int = Field(100, ge=1)

    # Pages: URL templates of source links, by "hg", "git", "hg:<host>", "git:<host>" or
    # "path" (JSON; replaces the defaults).
    webapp_source_urls: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SOURCE_URLS))
    # A version is active (listed on the product pages) if it crashed in the last N days.
    webapp_active_days: int = Field(30, ge=1, le=365)

    # Symbol uploads (POST /api/UploadSymbols/): one request's body, the files of one
    # upload (archive entries), what they may inflate to in all and by how much, and where
    # they are unpacked and checked before anything is stored (None: the system's temp).
    symbols_upload_max_bytes: int = Field(2 << 30, ge=1)
    symbols_upload_max_files: int = Field(10_000, ge=1)
    symbols_upload_max_inflated_bytes: int = Field(8 << 30, ge=1)
    symbols_upload_max_ratio: float = Field(100.0, gt=1)
    symbols_upload_tmp_dir: Path | None = None

    @field_validator("webapp_monitor_services")
    @classmethod
    def _check_monitor_services(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"the URL of {name} must start with http:// or https://")
        return {name: url.rstrip("/") for name, url in value.items()}

    @field_validator("webapp_source_urls")
    @classmethod
    def _check_source_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for key, template in value.items():
            kind = key.partition(":")[0]
            if kind not in ("hg", "git", "path") or (kind == "path" and key != "path"):
                raise ValueError(f"unknown source URL key {key!r}; use hg, git, hg:<host>, "
                                 "git:<host> or path")
            if template:
                check_template(key, template)
        return value


@lru_cache(maxsize=1)
def get_webapp_settings() -> WebappSettings:
    return WebappSettings()
