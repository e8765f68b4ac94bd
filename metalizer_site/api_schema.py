"""The OpenAPI schema tells the truth about every endpoint, without each view having to remember it.

``ApiAutoSchema`` (DRF's ``DEFAULT_SCHEMA_CLASS``) adds to each operation the errors it can answer, in the
one error shape, from what the view is: query parameters or a body can be refused (400), a path id may name
nothing (404), a body may be too large or of the wrong type (413, 415), an authenticator may refuse the
caller (401 when it sends a challenge, else 403), a permission may forbid (403), a throttle may say wait
(429). It documents the path id with the view's ``lookup_openapi_type``. ``add_links`` (a postprocessing
hook) links every response that carries an object's ``id`` to the operations on that object, so clients and
stateful fuzzers can follow a created job or asset to its reads and deletes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from rest_framework.permissions import AllowAny

ERROR_DESCRIPTIONS = {
    "400": "A query parameter, field or file was refused; the message says which and why.",
    "401": "No or wrong credentials (see the WWW-Authenticate header).",
    "403": "The caller may not do this (or the credentials were refused).",
    "404": "Nothing by that id (it may have expired or been deleted).",
    "409": "The object is not in a state that allows this; the message says why.",
    "413": "The upload is larger than this server accepts.",
    "415": "The body's content type is not one this endpoint takes.",
    "429": "Too many requests; the Retry-After header says when to try again.",
    "500": "The server could not produce what was asked; the message says which part.",
    "503": "A service it depends on (queue, storage) is unavailable; try again in a minute.",
}
HTTP_METHODS = ("get", "put", "patch", "post", "delete")


class ApiAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        self._type_path_ids(operation)
        responses = operation["responses"]
        for code in sorted(self.possible_errors(operation)):
            if code not in responses:
                from metalizer_site.api_errors import ErrorSerializer

                responses[code] = self._get_response_for_code(ErrorSerializer, code)
        for code, response in responses.items():
            if code in ERROR_DESCRIPTIONS and not response.get("description"):
                response["description"] = ERROR_DESCRIPTIONS[code]
        return operation

    def possible_errors(self, operation: dict[str, Any]) -> set[str]:
        """The error statuses this operation can answer, read from the operation and its view."""
        codes: set[str] = set()
        places = {p.get("in") for p in operation.get("parameters", [])}
        if "query" in places or "requestBody" in operation:
            codes.add("400")
        if "path" in places:
            codes.add("404")
        if "requestBody" in operation:
            codes |= {"413", "415"}
        authenticators = self.view.get_authenticators()
        if authenticators:
            challenge = authenticators[0].authenticate_header(self.view.request)
            codes.add("401" if challenge else "403")
        if any(permission is not AllowAny for permission in self.view.permission_classes):
            codes.add("403")
        if self.view.get_throttles():
            codes.add("429")
        return codes

    def _type_path_ids(self, operation: dict[str, Any]) -> None:
        declared = getattr(self.view, "lookup_openapi_type", None)
        if declared is None:
            return
        lookup = getattr(self.view, "lookup_url_kwarg", None) or getattr(self.view, "lookup_field", "pk")
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path" and parameter.get("name") in (lookup, "pk", "id"):
                parameter["schema"] = {
                    **build_basic_type(declared),
                    **getattr(self.view, "lookup_bounds", {}),
                }


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """OpenAPI links from each response carrying an object's ``id`` to the operations on ``.../{id}/...``."""
    operations = [
        (path, method, op)
        for path, methods in result.get("paths", {}).items()
        for method, op in methods.items()
        if method in HTTP_METHODS
    ]
    schemas = result.get("components", {}).get("schemas", {})
    for path, _method, operation in operations:
        root = _resource_root(path)
        targets = [op for p, _m, op in operations if p.startswith(f"{root}{{id}}")]
        if not targets:
            continue
        for status, response in operation.get("responses", {}).items():
            pointer = _id_pointer(response, schemas) if status in ("200", "201") else None
            if pointer is None:
                continue
            links = response.setdefault("links", {})
            for target in targets:
                links[target["operationId"]] = {
                    "operationId": target["operationId"],
                    "parameters": {"id": f"$response.body{pointer}"},
                    "description": f"{target['operationId'].replace('_', ' ')} of the object answered here",
                }
    return result


def _resource_root(path: str) -> str:
    """``/api/assets/upload/`` and ``/api/assets/{id}/download/`` -> ``/api/assets/``."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:2]) + "/" if len(parts) >= 2 else path


def _id_pointer(response: dict[str, Any], schemas: dict[str, Any]) -> str | None:
    """Where the id sits in this response's JSON body: ``#/id``, ``#/results/0/id`` or ``#/0/id``."""
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    schema = _resolve(schema, schemas)
    if not schema:
        return None
    if "id" in schema.get("properties", {}):
        return "#/id"
    results = _resolve(schema.get("properties", {}).get("results"), schemas)
    if results and results.get("type") == "array" and "id" in _properties(results.get("items"), schemas):
        return "#/results/0/id"
    if schema.get("type") == "array" and "id" in _properties(schema.get("items"), schemas):
        return "#/0/id"
    return None


def _resolve(schema: dict[str, Any] | None, schemas: dict[str, Any]) -> dict[str, Any] | None:
    if schema and "$ref" in schema:
        return schemas.get(schema["$ref"].rsplit("/", 1)[-1])
    return schema


def _properties(schema: dict[str, Any] | None, schemas: dict[str, Any]) -> dict[str, Any]:
    return (_resolve(schema, schemas) or {}).get("properties", {})
