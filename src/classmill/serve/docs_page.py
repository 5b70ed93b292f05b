"""A plain-HTML API reference built from the app's OpenAPI schema.

FastAPI's Swagger/ReDoc pages load their JavaScript from a CDN and are blank offline; this page
is self-contained. The machine-readable schema stays at /openapi.json.
"""

from __future__ import annotations

from html import escape

_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:880px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:24px} .sub{color:#5b6475;margin:0 0 24px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 20px;margin:0 0 14px}
h2{font-size:17px;margin:0 0 6px;font-family:ui-monospace,Menlo,Consolas,monospace}
.m{display:inline-block;min-width:52px;text-align:center;border-radius:4px;color:#fff;font-size:12px;
   padding:2px 6px;margin-right:8px;vertical-align:2px}
.get{background:#2f7d4f}.post{background:#2c5fb8}.put{background:#8a5a00}.delete{background:#b3261e}
table{border-collapse:collapse;width:100%;margin:6px 0}
td,th{border-top:1px solid #eceef2;padding:4px 8px 4px 0;text-align:left;vertical-align:top;font-size:14px}
th{color:#5b6475;font-weight:600} code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
a{color:#2c5fb8}
"""


def _schema_type(schema: dict, components: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_schema_type(s, components) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list[{_schema_type(schema.get('items', {}), components)}]"
    if schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream":
        return "file"
    return schema.get("type", "any")


def _body_fields(body: dict, components: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            where = f"{media}{', required' if name in required else ''}"
            rows.append((name, _schema_type(prop, components), where, prop.get("description", "")))
    return rows


def render_api_docs(openapi: dict, try_it: str | None = "/upload") -> str:
    """HTML listing every operation: method, path, summary, parameters, body fields, responses.

    try_it: a page to try the API on, linked from the header; None for none (the platform server).
    """
    info = openapi.get("info", {})
    components = openapi.get("components", {}).get("schemas", {})
    sections = []
    for path, operations in openapi.get("paths", {}).items():
        for method, op in operations.items():
            rows = [
                (
                    p["name"],
                    _schema_type(p.get("schema", {}), components),
                    f"{p['in']}{', required' if p.get('required') else ''}",
                    p.get("description", ""),
                )
                for p in op.get("parameters", [])
            ]
            rows += _body_fields(op.get("requestBody", {}), components)
            params = "".join(
                f"<tr><td><code>{escape(n)}</code></td><td>{escape(t)}</td><td>{escape(w)}</td><td>{escape(d)}</td></tr>"
                for n, t, w, d in rows
            )
            responses = ", ".join(
                f"<code>{escape(code)}</code> {escape(r.get('description', ''))}" for code, r in op.get("responses", {}).items()
            )
            sections.append(
                f"<section><h2><span class='m {escape(method)}'>{escape(method.upper())}</span>{escape(path)}</h2>"
                f"<p>{escape(op.get('summary', ''))}</p>"
                + (f"<p>{escape(op['description'])}</p>" if op.get("description") else "")
                + (f"<table><tr><th>name</th><th>type</th><th>where</th><th>meaning</th></tr>{params}</table>" if params else "")
                + f"<p><small>Responses: {responses}</small></p></section>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(info.get('title', 'API'))} — API</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{escape(info.get('title', 'API'))}</h1>"
        f"<p class='sub'>{escape(info.get('description', ''))} Version {escape(str(info.get('version', '')))}. "
        "Machine-readable schema: <a href='/openapi.json'>/openapi.json</a>."
        + (f" Try it: <a href='{escape(try_it)}'>{escape(try_it)}</a>." if try_it else "")
        + "</p>"
        + "".join(sections)
        + "</main></body></html>"
    )
