"""``crashline-webapp``: the webapp under gunicorn on ``CRASHLINE_WEBAPP_BIND``."""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from gunicorn.app.base import BaseApplication

from crashline.common.logs import setup_logging
from crashline.common.search import SearchError, search_from_settings
from crashline.webapp.settings import get_webapp_settings

log = logging.getLogger("crashline.webapp")


class WebappServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from crashline.webapp.app import create_app

        return create_app()


def post_fork(server, worker) -> None:
    from crashline.common import gunicorn_errors

    gunicorn_errors.install()  # gunicorn's own 400/414/431 answers in JSON, not HTML


def gunicorn_options(settings) -> dict:
    return {
        "bind": settings.webapp_bind,
        "workers": settings.webapp_workers,
        "threads": settings.webapp_threads,
        "worker_class": settings.webapp_worker_class,
        "timeout": settings.webapp_timeout,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "post_fork": post_fork,
    }


def main(argv: list[str] | None = None) -> int:
    # Every worker's metrics in one /metrics: prometheus-client's multiprocess mode needs its
    # folder before the app (and prometheus_client) is imported in the workers.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="crashline-webapp-")
    settings = get_webapp_settings()
    setup_logging(settings.service_name, settings.log_level, settings.log_format)
    try:
        # Pages and the API without search would only half work: refuse to start instead,
        # and say why (a wrong product or major version fails at once).
        search_from_settings(settings).wait_until_ready(settings.search_startup_timeout)
    except SearchError as exc:
        log.error("the search engine does not work: %s", exc)
        return 2
    sys.argv = sys.argv[:1]  # gunicorn parses argv; our settings come from the environment
    WebappServer(gunicorn_options(settings)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
