"""The monitoring page (``/monitoring/``): what ``/api/Monitoring/`` answers, for people."""

from __future__ import annotations

import falcon

from crashline.common.ledger import KINDS
from crashline.webapp.auth.principal import ADMIN
from crashline.webapp.pages.base import Page
from crashline.webapp.params import NoParams


class MonitoringPage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        detail = self.principal(req).has(ADMIN)
        self.render(req, resp, "monitoring.html", health=self.ctx.monitor.snapshot(detail),
                    detail=detail, kinds=KINDS)
