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
        if rule.rule.startswith("/api/") and rule.endpoint not in ("static", "docs.api_docs")
        and not rule.rule.startswith("/api/openapi")
    }
    routes = {r.replace("{int:", "{") for r in routes}
    assert routes <= documented, routes - documented
    assert "bearer" in spec["components"]["securitySchemes"]


def test_docs_page_lists_endpoints_without_a_token(nongxin_app):
    page = nongxin_app.test_client().get("/api/docs")
    assert page.status_code == 200
    assert "/api/institutions" in page.get_data(as_text=True)
