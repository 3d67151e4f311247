"""The API's browsable documentation at ``/api/v1/docs``, rendered on the server from the
OpenAPI document.

django-ninja's own pages load Swagger UI or Redoc, which set inline styles (and Redoc
injects style elements) that the site's Content-Security-Policy refuses, and whose CDN
variants the project never uses. This page needs neither: every operation, its scopes,
parameters, request body and responses, as plain HTML in the site's layout and
stylesheet, linking to the machine-readable document.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import DocsBase

METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    """A short name for a schema's type: ``integer``, ``list of Slug``, ``AnswerIn``…"""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _limits(schema: dict[str, Any]) -> str:
    names = ("minimum", "maximum", "minLength", "maxLength", "pattern", "maxItems")
    parts = [f"{name} {schema[name]}" for name in names if name in schema]
    for option in schema.get("anyOf", []):
        parts += [f"{name} {option[name]}" for name in names if name in option]
    return ", ".join(parts)


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in schema:
        schema = components.get(_ref_name(schema["$ref"]), {})
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type(prop),
            "required": name in required,
            "limits": _limits(prop),
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of an OpenAPI document, ready for the template."""
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(
                {
                    "id": operation.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": operation.get("tags", []),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": _fields(body["schema"], components) if body else [],
                    "body_type": _type(body["schema"]) if body else "",
                    "responses": [
                        {
                            "status": status,
                            "description": response.get("description", ""),
                            "type": _type(
                                response.get("content", {}).get("application/json", {}).get("schema", {})
                            )
                            if response.get("content")
                            else "",
                        }
                        for status, response in operation.get("responses", {}).items()
                    ],
                    "secured": bool(operation.get("security")),
                }
            )
    return found


class ServerRenderedDocs(DocsBase):
    def render_page(self, request: HttpRequest, api, **kwargs: Any) -> HttpResponse:
        document = api.get_openapi_schema(path_params=kwargs)
        components = document.get("components", {}).get("schemas", {})
        context = {
            "api": api,
            "document": document,
            "operations": operations(document),
            "schemas": [
                {
                    "name": name,
                    "fields": _fields(schema, components),
                    "description": schema.get("description", ""),
                }
                for name, schema in sorted(components.items())
            ],
            "openapi_url": self.get_openapi_url(api, kwargs),
        }
        return render(request, "api/docs.html", context)
