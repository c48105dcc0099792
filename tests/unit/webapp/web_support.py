import datetime as dt

import pytest

from crashline.webapp.auth.principal import ANONYMOUS, Principal
from crashline.webapp.params import validate
from crashline.webapp.supersearch.params import is_dynamic_param, search_params_model
from crashline.webapp.supersearch.query import build_query, parse_request
from crashline.webapp.supersearch.service import visibility

NOW = dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC)
PII = Principal(user_id=1, username="pii", permissions=frozenset({"view_pii"}), token_id=1)


def parse(params: dict, principal: Principal = ANONYMOUS):
    multi = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    model, extras = validate(search_params_model(), multi, extra=is_dynamic_param)
    return parse_request(model, extras, visibility(principal), NOW)


@pytest.fixture
def search():
    """parse + build: the engine body of a query string (as a dict)."""
    def run(params: dict, principal: Principal = ANONYMOUS) -> dict:
        return build_query(parse(params, principal))
    return run
