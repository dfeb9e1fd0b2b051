"""API docs served from this server alone: bank intranets rarely reach a CDN.

``/api/docs`` is Swagger UI (each operation's parameters, request body, responses and a "try it
out" with a bearer token), from the ``swagger-ui-bundle`` package's files served under
``/api/docs/static/``; nothing is fetched from outside (the online spec validator is switched off).
``/api/docs/plain`` is the same reference as server-rendered HTML, for a browser without
JavaScript or a quick look from a terminal.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template_string, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs", __name__)

#: The Swagger UI files the page uses (the package ships more: maps, the ES build).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png"})

UI_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ info.title }} – API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/static/favicon-32x32.png" sizes="32x32">
</head><body>
<noscript><p>This page needs JavaScript; the same reference without it:
<a href="/api/docs/plain">/api/docs/plain</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""

# A file of its own, not an inline script, so a strict Content-Security-Policy can allow 'self' only.
INIT_JS = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
};
"""

PLAIN_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ info.title }} – API</title>
<style>body{font-family:sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .3rem}.m{display:inline-block;width:4.5rem;font-weight:bold}
section{border-top:1px solid #ddd;padding:.5rem 0}dl{margin:.2rem 0 .2rem 1rem}dt{font-weight:bold}
dd{margin:0 0 .2rem 1rem}</style></head><body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>Interactive: <a href="/api/docs">/api/docs</a>. Machine-readable:
<a href="/api/openapi.json">/api/openapi.json</a>. Every <code>/api</code> call needs
<code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON
<code>{"error": code, "message": text, "fields": {...}}</code>.</p>
{% for path, ops in paths %}{% for method, op in ops %}
<section id="{{ op.get('operationId', '') }}"><span class="m">{{ method|upper }}</span><code>{{ path }}</code>
<p>{{ op.get('summary', '') }} {{ op.get('description', '') }}</p><dl>
{% if op.get('parameters') %}<dt>parameters</dt>{% for p in op['parameters'] %}
<dd><code>{{ p['name'] }}</code> ({{ p['in'] }}{% if p.get('required') %}, required{% endif %}){{
  ' – ' ~ p['description'] if p.get('description') }}</dd>{% endfor %}{% endif %}
{% if op.get('requestBody') %}<dt>body</dt>{% for media, content in op['requestBody'].get('content', {}).items() %}
<dd>{{ media }}: <code>{{ schema_name(content.get('schema', {})) }}</code></dd>{% endfor %}{% endif %}
<dt>responses</dt>{% for status, response in op.get('responses', {}).items() %}
<dd><code>{{ status }}</code> {{ response.get('description', '') }}{% for media, content in response.get('content', {}).items() %}
– <code>{{ schema_name(content.get('schema', {})) }}</code>{% endfor %}</dd>{% endfor %}
</dl></section>
{% endfor %}{% endfor %}</body></html>"""


def _spec() -> dict[str, Any]:
    return current_app.extensions["nongxin.api"].spec.to_dict()


def _schema_name(schema: dict[str, Any]) -> str:
    """A readable name for a schema reference, an array of one, or an inline object."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"[{_schema_name(schema.get('items', {}))}]"
    return str(schema.get("type", "object"))


@bp.route("/api/docs")
def api_docs() -> str:
    return render_template_string(UI_PAGE, info=_spec()["info"])


@bp.route("/api/docs/init.js")
def api_docs_init() -> Response:
    return Response(INIT_JS, mimetype="text/javascript")


@bp.route("/api/docs/static/<name>")
def api_docs_static(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(swagger_ui_path, name, max_age=86400)


@bp.route("/api/docs/plain")
def api_docs_plain() -> str:
    spec = _spec()
    paths = [(p, [(m, op) for m, op in ops.items() if isinstance(op, dict)])
             for p, ops in sorted(spec.get("paths", {}).items())]
    return render_template_string(PLAIN_PAGE, info=spec["info"], paths=paths, schema_name=_schema_name)
