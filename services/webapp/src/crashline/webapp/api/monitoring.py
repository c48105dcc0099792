"""Monitoring: the pipeline's health in one answer (what the monitoring page shows)."""

from __future__ import annotations

import falcon

from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.auth.principal import ADMIN
from crashline.webapp.monitoring import Monitor
from crashline.webapp.params import NoParams


class MonitoringResource(Resource):
    name = "Monitoring"
    operations = (Operation(
        "GET", "The pipeline's health: jobs, queues, failed crashes, ledger, services",
        params=NoParams,
        description=("ok is false when anything needs a person (problems says what). Error "
                     "messages, tracebacks, failure reasons and heartbeat errors are included "
                     "for callers with admin."),
        responses={200: "{checked_at, ok, problems, crontabber: {running, last_activity, "
                        "message, jobs}, queues, failed, missing, ledger, services}"}),)

    def __init__(self, monitor: Monitor):
        self.monitor = monitor

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read_params(req, NoParams)
        resp.media = self.monitor.snapshot(detail=self.principal(req).has(ADMIN))
        resp.cache_control = ["no-store"]
