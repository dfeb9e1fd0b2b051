"""The application factory: wires settings, database, plugins and blueprints; decides nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from flask import Flask, jsonify

from nongxin.core.config import Settings
from nongxin.core.runtime import Runtime, bootstrap
from nongxin.core.web import NongxinApi, install

log = logging.getLogger("nongxin")


def create_app(config: Settings | Mapping[str, Any] | None = None, *,
               plugins: Sequence[Any] = (), discover: bool = True, runtime: Runtime | None = None) -> Flask:
    """``plugins`` are registered in addition to the installed ones (``discover``): tests and
    plugin authors use it to run a plugin that is not installed. A ready ``runtime`` (from
    :func:`~nongxin.core.runtime.bootstrap`) is used as it is; otherwise one is bootstrapped."""
    if runtime is None:
        if isinstance(config, Settings):
            settings = config
        else:
            settings = Settings.from_env()
            if config:
                from dataclasses import replace

                settings = replace(settings, **dict(config))
        runtime = bootstrap(settings, plugins=plugins, discover=discover)
    settings = runtime.settings

    # Explicit paths: Flask cannot locate a package whose parent is a namespace package.
    app = Flask("nongxin.core", root_path=str(Path(__file__).parent),
                instance_path=str(Path.cwd() / "instance"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.environment == "testing",
        API_TITLE="Nongxin 农信 provincial credit platform",
        API_VERSION=_version(),
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["nongxin"] = runtime
    install(app)

    api = NongxinApi(app, spec_kwargs={"info": {"description": "REST API of the Nongxin core."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    app.extensions["nongxin.api"] = api

    from nongxin.core import docs, health
    from nongxin.core.audit.api import blp as audit_blp
    from nongxin.core.bureau.api import blp as bureau_blp
    from nongxin.core.calendar.api import blp as calendar_blp
    from nongxin.core.credit.api import applications_blp
    from nongxin.core.credit.api import blp as products_blp
    from nongxin.core.plugin_state.api import blp as plugins_blp
    from nongxin.core.rules.api import blp as rules_blp
    from nongxin.core.institutions.api import blp as institutions_blp
    from nongxin.core.institutions.users_api import blp as users_blp
    from nongxin.core.parameters.api import blp as parameters_blp

    for blp in (health.blp, institutions_blp, users_blp, audit_blp, plugins_blp, products_blp, bureau_blp, rules_blp,
                calendar_blp, applications_blp):
        api.register_blueprint(blp)
    api.register_blueprint(parameters_blp)
    from nongxin.core.customers.api import blp as customers_blp

    api.register_blueprint(customers_blp)
    from nongxin.core.credit.review_api import blp as review_blp, users_blp as approval_limits_blp

    for blp in (review_blp, approval_limits_blp):  # manual review (part E)
        api.register_blueprint(blp)
    app.register_blueprint(docs.bp)

    from nongxin.core.credit.decision_api import blp as decisions_blp  # the automated decision (part D)

    api.register_blueprint(decisions_blp)

    from nongxin.core.credit.drawdowns_api import blp as drawdowns_blp  # issue 11 part C: drawdowns, loans
    from nongxin.core.credit.loans_api import blp as loans_blp

    from nongxin.core.credit.repayments_api import blp as repayments_blp  # part A: repayments

    for blp in (drawdowns_blp, loans_blp, repayments_blp):
        api.register_blueprint(blp)

    from nongxin.core.credit.lines_api import blp as credit_lines_blp  # credit lines (issue 11, part B)

    api.register_blueprint(credit_lines_blp)
    from nongxin.core.collateral.pledges_api import blp as collateral_pledges_blp  # issue 12 part B: pledges

    api.register_blueprint(collateral_pledges_blp)

    from nongxin.core.collateral.api import blp as collateral_blp  # collateral registry (issue 12, part A)

    api.register_blueprint(collateral_blp)

    from nongxin.core.collateral.revalue_api import blp as collateral_revalue_blp  # issue 12, part C

    api.register_blueprint(collateral_revalue_blp)

    from nongxin.core.collateral.scan_api import blp as collateral_scan_blp  # shortfall scan (issue 12, part D)

    api.register_blueprint(collateral_scan_blp)

    from nongxin.core.early_warning.watchlists_api import blp as watchlists_blp  # court lists (issue 13, part E)

    api.register_blueprint(watchlists_blp)

    from nongxin.core.early_warning.tasks_api import blp as warning_tasks_blp  # issue 13, part B
    from nongxin.core.early_warning.warnings_api import blp as warnings_blp

    api.register_blueprint(warnings_blp)
    api.register_blueprint(warning_tasks_blp)

    from nongxin.core.early_warning.classification_api import blp as classification_blp  # issue 13 part C

    api.register_blueprint(classification_blp)

    from nongxin.core.rules.monitoring_api import blp as monitoring_blp  # issue 14 part D: monitoring models

    api.register_blueprint(monitoring_blp)

    from nongxin.core.village.api import blueprints as village_blueprints  # issue 15: whole-village credit

    for blp in village_blueprints():
        api.register_blueprint(blp)

    from nongxin.core.scorecards.api import blueprints as scorecard_blueprints  # issue 17: scorecards

    for blp in scorecard_blueprints():
        api.register_blueprint(blp)

    from nongxin.core.console.setup import register as register_console  # issue 16: the web console

    register_console(app)

    from nongxin.core.logmask import install_on_loggers

    install_on_loggers()  # after the imports above created the core's loggers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        from flask import request
        from werkzeug.exceptions import HTTPException

        from nongxin.core.console import web as console

        if isinstance(exc, HTTPException):
            return api.handle_http_exception(exc)
        log.exception("unexpected error")
        if console.is_console(request.path):
            return console.unexpected_error()
        return jsonify({"error": "internal_error", "message": "an unexpected error occurred; "
                        "it has been logged", "fields": {}}), 500

    return app


def _version() -> str:
    from nongxin.sdk import __version__

    return __version__
