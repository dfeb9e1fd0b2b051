def test_healthz_reports_version_and_database(nongxin_app):
    from nongxin.sdk import __version__

    body = nongxin_app.test_client().get("/healthz").get_json()
    assert body["version"] == __version__
    assert body["database"]["status"] == "ok"


def test_openapi_describes_every_route(nongxin_app):
    spec = nongxin_app.test_client().get("/api/openapi.json").get_json()
    documented = {path for path in spec["paths"]}
    routes = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in nongxin_app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.endpoint != "static" and not rule.endpoint.startswith("docs.")
        and not rule.rule.startswith("/api/openapi")
    }
    routes = {r.replace("{int:", "{") for r in routes}
    assert routes <= documented, routes - documented
    assert "bearer" in spec["components"]["securitySchemes"]


def test_docs_page_is_swagger_ui_from_this_server_only(nongxin_app):
    """Bank intranets rarely reach a CDN: every script, style and icon comes from /api/docs/static."""
    import re

    client = nongxin_app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/api/docs/static/swagger-ui-bundle.js" in assets and "/api/docs/init.js" in assets
    for url in assets:
        assert url.startswith("/api/"), f"{url} is not served by this server"
        resp = client.get(url)
        assert resp.status_code == 200 and resp.content_length, url
        if url.endswith(".js"):
            assert resp.mimetype == "text/javascript", url
    init = client.get("/api/docs/init.js").get_data(as_text=True)
    assert 'url: "/api/openapi.json"' in init and "validatorUrl: null" in init  # no call to swagger.io
    assert client.get("/api/docs/static/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/api/docs/static/..%2Fsetup.py").status_code == 404


def test_plain_docs_show_parameters_bodies_and_responses(nongxin_app):
    html = nongxin_app.test_client().get("/api/docs/plain").get_data(as_text=True)
    section = html[html.index("<code>/api/bureau/queries</code>"):]
    section = section[:section.index("</section>")]
    assert "body</dt>" in section and "application/json" in section
    assert "<code>200</code>" in section and "responses</dt>" in section
    assert "<code>stage</code> (query" in html  # a query parameter of the rules endpoint
