"""Every form POSTed to a page passes the CSRF check first (``auth/csrf.py``), whatever page
it is for: a new page's form is protected without doing anything."""

from __future__ import annotations

import falcon

from crashline.webapp.api.base import body_params
from crashline.webapp.auth import csrf
from crashline.webapp.auth.sessions import Cookies
from crashline.webapp.pages.render import is_page


class CsrfMiddleware:
    def __init__(self, cookies: Cookies):
        self.cookies = cookies

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource,
                         params) -> None:
        if req.method not in csrf.SAFE_METHODS and is_page(req):
            csrf.check(req, body_params(req), self.cookies)
