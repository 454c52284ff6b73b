"""A readable page of the OpenAPI schema, rendered here (no Swagger/Redoc bundle, no CDN, CSP-clean)."""

from __future__ import annotations

from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator


def _properties(schema: dict, components: dict) -> list[tuple[str, str]]:
    """(name, type) of a response's ``results`` rows."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    results = schema.get("properties", {}).get("results", {})
    item = results.get("items", {})
    if "$ref" in item:
        item = components.get(item["$ref"].rsplit("/", 1)[-1], {})
    return [(name, prop.get("type", "") + (f" ({prop['format']})" if prop.get("format") else ""))
            for name, prop in item.get("properties", {}).items()]


def schema_docs(request):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    operations = []
    for url, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            response = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            operations.append({
                "method": method.upper(), "url": url, "summary": op.get("summary", ""),
                "parameters": [(p["name"], p.get("schema", {}).get("type", ""), p.get("description", ""),
                                ", ".join(map(str, p.get("schema", {}).get("enum", []))))
                               for p in op.get("parameters", [])],
                "fields": _properties(response.get("schema", {}), components),
            })
    return render(request, "inventory/api_docs.html", {"operations": operations, "info": schema.get("info", {})})
