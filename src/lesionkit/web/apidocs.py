"""``/api/docs``: the OpenAPI schema as a plain server-rendered page.

FastAPI's default docs page loads Swagger UI from a CDN, which the app's own Content-Security-Policy
(``script-src 'self'``) blocks — a blank page — and which would make every visitor's browser fetch code from a
third party. This page needs no script and no other site: each operation with its summary, parameters, request
body fields and responses, and a link to ``/openapi.json``.
"""

__all__ = ["docs_router", "operations"]

_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    return str(schema.get("type", "object"))


def _body_fields(spec: dict, operation: dict) -> list[dict]:
    content = operation.get("requestBody", {}).get("content", {})
    for media, body in content.items():
        schema = body.get("schema", {})
        if "$ref" in schema:
            schema = spec.get("components", {}).get("schemas", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
        required = set(schema.get("required", []))
        return [{"name": name, "type": _schema_name(field), "required": name in required, "media": media,
                 "description": field.get("description", "")} for name, field in schema.get("properties", {}).items()]
    return []


def operations(spec: dict) -> list[dict]:
    """One row per operation of an OpenAPI ``spec``, in path order."""
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method not in item:
                continue
            op = item[method]
            rows.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": _schema_name(p.get("schema", {}))} for p in op.get("parameters", [])],
                "body": _body_fields(spec, op),
                "responses": [{"status": code, "description": r.get("description", ""),
                               "type": ", ".join(_schema_name(c.get("schema", {}))
                                                 for c in r.get("content", {}).values())}
                              for code, r in op.get("responses", {}).items()],
                "auth": any("Bearer" in str(r) for r in op.get("responses", {}).values()) or "401" in op.get(
                    "responses", {}),
            })
    return rows


def docs_router():  # noqa: ANN201
    from fastapi import APIRouter, Request
    from fastapi.responses import HTMLResponse

    from lesionkit.web.app import render

    router = APIRouter(include_in_schema=False)

    @router.get("/api/docs", response_class=HTMLResponse)
    def api_docs(request: Request):  # noqa: ANN202
        spec = request.app.openapi()
        return render(request, "api_docs.html", {"spec": spec, "operations": operations(spec)})

    return router
