"""A self-contained API docs page: bank intranets rarely reach a CDN, so no Swagger UI assets."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template_string

bp = Blueprint("docs", __name__)

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ info.title }} – API</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .3rem}.m{display:inline-block;width:4.5rem;font-weight:bold}
section{border-top:1px solid #ddd;padding:.5rem 0}</style></head><body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>. Every <code>/api</code> call
needs <code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON
<code>{"error": code, "message": text, "fields": {...}}</code>.</p>
{% for path, ops in paths %}{% for method, op in ops %}
<section><span class="m">{{ method|upper }}</span><code>{{ path }}</code>
<p>{{ op.get('summary', '') }} {{ op.get('description', '') }}</p></section>
{% endfor %}{% endfor %}</body></html>"""


@bp.route("/api/docs")
def api_docs() -> str:
    spec = current_app.extensions["nongxin.api"].spec.to_dict()
    paths = [(p, [(m, op) for m, op in ops.items() if isinstance(op, dict)])
             for p, ops in sorted(spec.get("paths", {}).items())]
    return render_template_string(PAGE, info=spec["info"], paths=paths)
