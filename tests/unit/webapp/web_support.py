import datetime as dt

import pytest

from crashline.webapp.auth.principal import ANONYMOUS, Principal
from crashline.webapp.supersearch.query import build_query, parse_search

NOW = dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC)
PII = Principal(user_id=1, username="pii", permissions=frozenset({"view_pii"}), token_id=1)


def parse(params: dict, principal: Principal = ANONYMOUS):
    multi = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return parse_search(multi, principal, NOW)


@pytest.fixture
def search():
    """parse + build: the engine body of a query string (as a dict)."""
    def run(params: dict, principal: Principal = ANONYMOUS) -> dict:
        return build_query(parse(params, principal))
    return run
