"""SuperSearch, SuperSearchUnredacted and SuperSearchFields."""

from __future__ import annotations

import falcon

from crashline.common.annotations import AnnotationPolicy
from crashline.common.fields import FIELDS, FieldDef
from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.auth.principal import VIEW_PII
from crashline.webapp.dictionary import data_dictionary
from crashline.webapp.params import NoParams, query_params
from crashline.webapp.supersearch.params import search_params_model
from crashline.webapp.supersearch.service import SuperSearch

_RESPONSES = {
    200: "{hits, total, facets, errors}; with _return_query=true, {query, indices}",
    400: "a parameter is unknown or has a bad value (the message names it)",
    429: "rate limited (see Retry-After)",
}


class SuperSearchResource(Resource):
    name = "SuperSearch"
    operations = (Operation(
        "GET", "Search crashes",
        params=search_params_model(), responses=_RESPONSES,
        description=("Filters on any public field (and, with view_pii, protected ones; "
                     "parameters naming a field you may not see are ignored), facets, "
                     "histograms and paging. The default window is the last 7 days.")),)

    def __init__(self, search: SuperSearch):
        self.search = search

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.search.run(query_params(req), self.principal(req))


class SuperSearchUnredactedResource(SuperSearchResource):
    name = "SuperSearchUnredacted"
    operations = (Operation(
        "GET", "Search crashes, protected fields included",
        params=search_params_model(), permission=VIEW_PII,
        responses={**_RESPONSES, 403: "the caller lacks view_pii"}),)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        needed = sorted({f.permission for f in FIELDS if not f.public})
        for permission in needed:
            self.require(req, permission)
        super().on_get(req, resp)


def field_definition(fdef: FieldDef) -> dict:
    return {
        "name": fdef.name,
        "namespace": "processed_crash",
        "in_database_name": fdef.source_path,
        "query_type": fdef.type.value,
        "description": fdef.description + (
            f" Also accepted as {', '.join(fdef.aliases)}." if fdef.aliases else ""),
        "operators": list(fdef.operators),
        "is_exposed": True,
        "is_returned": fdef.returnable,
        "is_facetable": fdef.facetable,
        "has_full_version": fdef.type.value == "string",
        "permissions_needed": [] if fdef.public else [fdef.permission],
        "category": fdef.category,
        "examples": list(fdef.examples),
    }


class SuperSearchFieldsResource(Resource):
    name = "SuperSearchFields"
    operations = (Operation("GET", "Definitions of every search field", params=NoParams,
                            responses={200: "field name -> definition"}),)

    def __init__(self):
        self.body = {f.name: field_definition(f) for f in FIELDS}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read_params(req, NoParams)
        resp.media = self.body
        resp.cache_control = ["public", "max-age=300"]


class DataDictionaryResource(Resource):
    name = "DataDictionary"
    operations = (Operation(
        "GET", "Every annotation and processed-crash key, and who may see it",
        params=NoParams, responses={200: "{annotations: {name: {permission, search_fields}}, "
                                         "processed_crash: {path: {permission, description, "
                                         "search_field?}}}"},
        description=("Paths join keys with dots; [] marks each item of a list and * any "
                     "key. Anything not listed is protected.")),)

    def __init__(self, annotations: AnnotationPolicy):
        self.body = data_dictionary(annotations)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read_params(req, NoParams)
        resp.media = self.body
        resp.cache_control = ["public", "max-age=300"]
