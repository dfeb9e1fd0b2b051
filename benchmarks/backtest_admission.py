"""What an admission backtest costs over stored decisions.

One application is decided through the real pipeline with the decision benchmark's plugins (1,000
admission rules, a 20-variable scorecard, 5 product plugins), so its record is a realistic one;
its record is then copied into ``--decisions`` synthetic decisions (bulk inserts, each its own
application at 历下 or 章丘, the amount varied), all of today. Timed: ``backtest_admission.admission``
end to end (the query, decoding the facts, the rules, the replays, the answer) for

* ``reject``: a reject draft hitting about a third of the decisions (each one replayed);
* ``tag``: a tag draft hitting all (no replay: a tag never changes an outcome);
* ``new_version``: a milder new version of one of the 1,000 rules (no stored hit: nothing replayed);
* ``replaced_hit``: a new version of the tag rule every decision hit (the worst case: every
  decision loses a stored hit, so every one is replayed from its whole record).

    python benchmarks/backtest_admission.py [--decisions 20000] [--database-url URL]

Writes ``benchmarks/results/backtest_admission.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import decision as bench  # noqa: E402  (the decision benchmark's plugins)

RESULTS = Path(__file__).parent / "results" / "backtest_admission.json"


def draft(expression: str, outcome: str, code: str = "BT-DRAFT", version: int = 1) -> Any:
    from nongxin.sdk.rules import Rule

    return Rule(code=code, name=code, expression=expression, stage="admission", outcome=outcome, level="county",
                owner="JNRCB", reason="backtest", version=version)


def run(url: str, decisions: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from nongxin.core import demo
    from nongxin.core.app import create_app
    from nongxin.core.auth import Principal
    from nongxin.core.config import Settings
    from nongxin.core.credit.decision import decide
    from nongxin.core.credit.models import Application, Decision
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions import services as institutions
    from nongxin.core.institutions.models import Institution, Role
    from nongxin.core.migrate import recreate
    from nongxin.core.rules.backtest_admission import admission
    from nongxin.core.testing import file_application
    from nongxin.sdk.identity import make_resident_id

    recreate(url)
    settings = Settings(database_url=url, environment="testing", secret_key="bench-secret-" + "x" * 32,
                        audit_key="bench-audit-key-" + "y" * 32)
    app = create_app(settings, plugins=bench.PLUGINS)
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        demo.seed(unit)
    with UnitOfWork(rt.sessions) as unit:
        root = institutions.root(unit.session)
        assert root is not None
        admin = Principal("province.admin", Role.PROVINCE_ADMIN, root.id, root.code, root.path)
        for module in bench.PLUGINS:
            rt.plugins.switch(unit, admin, module.PLUGIN.name, "JNRCB", True)
        unit.commit()
    from datetime import date

    app_id = file_application(app, id_number=make_resident_id("370102", date(1980, 1, 1), 998), name="压测",
                              product=bench.PRODUCT, amount="30000")
    with UnitOfWork(rt.sessions) as unit:
        place = institutions.get_by_code(unit.session, "JNRCB-LX")
        assert place is not None
        cm = Principal("jinan.cm", Role.CUSTOMER_MANAGER, place.id, place.code, place.path)
        done = decide(unit, cm, rt, app_id)
        assert done.decision is not None
    with UnitOfWork(rt.sessions) as unit:
        s = unit.session
        model = s.execute(sa.select(Application).where(Application.id == app_id)).scalar_one()
        stored = s.execute(sa.select(Decision).where(Decision.application_id == app_id)).scalar_one()
        branches = [i.id for i in s.execute(sa.select(Institution).where(
            Institution.code.in_(["JNRCB-LX", "JNRCB-ZQ"]))).scalars()]
        base_app = {c.name: getattr(model, c.key) for c in Application.__table__.columns if c.name != "id"}
        base_dec = {c.name: getattr(stored, c.key) for c in Decision.__table__.columns if c.name != "id"}
        top = s.execute(sa.select(sa.func.max(Application.id))).scalar_one()
        for start in range(0, decisions, 5000):
            apps, decs = [], []
            for i in range(start, min(decisions, start + 5000)):
                amount = Decimal(10000 + (i % 3) * 15000)  # 10,000 / 25,000 / 40,000
                apps.append({**base_app, "id": top + 1 + i, "number": f"JNRCB-B2026-{i:07d}",
                             "institution_id": branches[i % 2], "amount": amount})
                record = copy.deepcopy(stored.record)
                record["facts"]["amount"] = f"{amount:.2f}"
                record["application"]["amount"] = f"{amount:.2f}"
                decs.append({**base_dec, "application_id": top + 1 + i, "record": record})
            s.execute(sa.insert(Application), apps)
            s.execute(sa.insert(Decision), decs)
        unit.commit()
    with UnitOfWork(rt.sessions) as unit:
        s = unit.session
        bank = institutions.get_by_code(s, "JNRCB")
        assert bank is not None
        today = rt.clock.business_date()
        cases = {"reject": [draft("amount > 30000", "reject")], "tag": [draft("amount > 0", "tag")],
                 "new_version": [draft("age < 16 or age > 90", "reject", code="BENCH-0003", version=2)],
                 "replaced_hit": [draft("amount > 30000", "reject", code="BENCH-0000", version=2)]}
        report: dict[str, Any] = {"decisions": decisions + 1, "database": url.split(":")[0]}
        for name, rules in cases.items():
            started = time.perf_counter()
            answer = admission(s, rules, [bank], bank, today, 30, 20)
            report[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
            report[f"{name}_hits"] = answer["hits"]
            report[f"{name}_changed"] = answer["changed"]["total"]
            print(f"{name}: {report[f'{name}_seconds']} s, population {answer['population']}, "
                  f"hits {answer['hits']}, changed {answer['changed']}")
    rt.engine.dispose()
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decisions", type=int, default=20_000)
    ap.add_argument("--database-url", default=None, help="an empty database it may own (default: a temporary SQLite)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = {"benchmark": "backtest_admission",
                  **run(args.database_url or f"sqlite:///{Path(tmp) / 'backtest.db'}", args.decisions)}
    report["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                         "load_average": [round(x, 2) for x in os.getloadavg()]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
    sys.exit(0)
