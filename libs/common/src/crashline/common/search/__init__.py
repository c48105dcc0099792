"""Search-engine adapter: one interface over OpenSearch and Elasticsearch 8."""

from crashline.common.search.client import SearchBackend, SearchError, search_from_settings
from crashline.common.search.indices import IndexNamer

__all__ = ["IndexNamer", "SearchBackend", "SearchError", "search_from_settings"]
