"""The demo province: enough tree and people to try every role on a fresh machine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nongxin.core.audit.services import record
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import services, users
from nongxin.core.institutions.models import Level, Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from nongxin.core.customers.models import Customer
    from nongxin.core.runtime import Runtime

TREE: list[tuple[str, str, Level, str | None]] = [
    ("SD", "山东省农村信用社联合社", Level.PROVINCE, None),
    ("SD-LZ", "鲁中审计中心", Level.CITY, "SD"),
    ("SD-LN", "鲁南审计中心", Level.CITY, "SD"),
    ("JNRCB", "济南农商银行", Level.COUNTY, "SD-LZ"),
    ("TARCB", "泰安农商银行", Level.COUNTY, "SD-LZ"),
    ("LYRCB", "临沂农商银行", Level.COUNTY, "SD-LN"),
    ("JNRCB-LX", "历下支行", Level.BRANCH, "JNRCB"),
    ("JNRCB-LX-G01", "泉城路网格", Level.GRID, "JNRCB-LX"),
    ("JNRCB-ZQ", "章丘支行", Level.BRANCH, "JNRCB"),
    ("JNRCB-ZQ-G01", "相公庄网格", Level.GRID, "JNRCB-ZQ"),
    ("TARCB-TS", "泰山支行", Level.BRANCH, "TARCB"),
    ("TARCB-TS-G01", "岱庙网格", Level.GRID, "TARCB-TS"),
    ("LYRCB-LS", "兰山支行", Level.BRANCH, "LYRCB"),
    ("LYRCB-LS-G01", "沂河网格", Level.GRID, "LYRCB-LS"),
]

PEOPLE: list[tuple[str, str, Role, str]] = [
    ("province.admin", "省联社管理员", Role.PROVINCE_ADMIN, "SD"),
    ("jinan.admin", "济南农商行管理员", Role.COUNTY_ADMIN, "JNRCB"),
    ("jinan.pm", "济南产品经理", Role.PRODUCT_MANAGER, "JNRCB"),
    ("jinan.params", "济南参数管理岗", Role.PARAMETER_ADMIN, "JNRCB"),
    ("jinan.params2", "济南参数复核岗", Role.PARAMETER_ADMIN, "JNRCB"),
    ("province.params", "省联社参数管理岗", Role.PARAMETER_ADMIN, "SD"),
    ("province.params2", "省联社参数复核岗", Role.PARAMETER_ADMIN, "SD"),
    ("jinan.cm", "历下客户经理", Role.CUSTOMER_MANAGER, "JNRCB-LX"),
    ("jinan.reviewer", "济南审查岗", Role.REVIEWER, "JNRCB"),
    ("jinan.approver", "济南审批岗", Role.APPROVER, "JNRCB"),
    ("jinan.postloan", "济南贷后检查岗", Role.POST_LOAN_CHECKER, "JNRCB"),
    ("linyi.admin", "临沂农商行管理员", Role.COUNTY_ADMIN, "LYRCB"),
    ("linyi.pm", "临沂产品经理", Role.PRODUCT_MANAGER, "LYRCB"),
    ("linyi.cm", "兰山客户经理", Role.CUSTOMER_MANAGER, "LYRCB-LS"),
    ("linyi.approver", "临沂审批岗", Role.APPROVER, "LYRCB"),
    ("linyi.postloan", "临沂贷后检查岗", Role.POST_LOAN_CHECKER, "LYRCB"),
    ("taian.cm", "泰山客户经理", Role.CUSTOMER_MANAGER, "TARCB-TS"),
]


@dataclass(frozen=True)
class SeededUser:
    username: str
    role: Role
    institution: str
    token: str


def seed(uow: UnitOfWork, *, token_days: int = 30) -> list[SeededUser]:
    """Seeds an empty database; returns each user's token (shown once). Does nothing if seeded."""
    if services.root(uow.session) is not None:
        return []
    for code, name, level, parent in TREE:
        services.create(uow, None, code=code, name=name, level=level, parent_code=parent)
    _enable_simulated_bureau(uow)
    _book_demo_loans(uow)
    _publish_demo_lpr(uow)
    seeded = []
    for username, display, role, inst in PEOPLE:
        users.create_user(uow, None, username=username, display_name=display, role=role,
                          institution_code=inst)
        plain, _ = users.issue_token(uow, username, days=token_days, max_days=token_days)
        seeded.append(SeededUser(username, role, inst, plain))
    _file_demo_customers(uow)
    _grant_approval_authority(uow)
    uow.commit()
    return seeded


#: The console password of every demo user (a demo province only: `nongxin demo` is refused in
#: production). Set by `nongxin demo`, not by ``seed``: a slow hash per user would slow every test.
DEMO_PASSWORD = "nongxin-demo-2026"


def set_demo_passwords(uow: UnitOfWork, *, now: datetime) -> None:
    """Gives every demo user the console password ``DEMO_PASSWORD``; commits."""
    from nongxin.core.console.signin import set_password

    for username, *_ in PEOPLE:
        set_password(uow, username, DEMO_PASSWORD, now=now, actor="demo")
    uow.commit()


def _enable_simulated_bureau(uow: UnitOfWork) -> None:
    """The demo has no real bureau; the simulator answers for the whole demo province."""
    from nongxin.core.plugin_state.models import PluginSwitch
    from nongxin.core.plugin_state.services import bump_generation

    province = services.root(uow.session)
    assert province is not None
    uow.session.add(PluginSwitch(institution_id=province.id, plugin="bureau_sim", enabled=True,
                                 settings=None, updated_by="system"))
    bump_generation(uow.session)
    record(uow.session, actor="system", action="plugin.enable", target="plugin:bureau_sim",
           institution_code=province.code, after={"enabled": True, "source": f"set at {province.code}"})


#: A borrower of the Jinan bank, so post-loan bureau queries (purpose 01) can be tried at once.
DEMO_BORROWER = ("resident_id", "370102198503153219", "李泉")


def _book_demo_loans(uow: UnitOfWork) -> None:
    from datetime import date
    from decimal import Decimal

    from nongxin.core.credit.services import book_loan

    kind, number, name = DEMO_BORROWER
    book_loan(uow, actor="system", institution_code="JNRCB-LX", loan_no="JNRCB-2026-000001", borrower_kind=kind,
              borrower_id_number=number, borrower_name=name, product_code="XIN_E_DAI",
              principal=Decimal("80000.00"), disbursed_on=date(2026, 3, 2), maturity_on=date(2027, 3, 2))


#: The loan prime rates published on 2025-05-20 (全国银行间同业拆借中心): 1-year 3.00%, over-5-year 3.50%.
DEMO_LPR = {"lpr.1y": "0.03", "lpr.5y": "0.035"}
DEMO_LPR_FROM = (2025, 5, 20)


def _publish_demo_lpr(uow: UnitOfWork) -> None:
    """The province's LPR as published, dated in the past (the seed writes history directly; the
    API and CLI never back-date)."""
    from datetime import date

    from nongxin.core.parameters.models import ParameterValue

    province = services.root(uow.session)
    assert province is not None
    since = date(*DEMO_LPR_FROM)
    for name, value in DEMO_LPR.items():
        uow.session.add(ParameterValue(name=name, institution_id=province.id, effective_from=since, value=value,
                                       note="LPR published 2025-05-20", changed_by="system"))
        record(uow.session, actor="system", action="parameter.set", target=f"parameter:{name}@{province.code}",
               institution_code=province.code,
               after={"name": name, "value": value, "effective_from": since.isoformat(), "note": "demo"})
    uow.flush()


# -- demo customers (客户档案) ------------------------------------------------------------------
#: Each demo customer: a key the other demo steps use, the manager who files it, and the input.
#: Resident IDs are built with ``make_resident_id``; characters 15-17 pick the simulated bureau's
#: profile (plugins/bureau_sim/report.py): 998 always clean, 997 late in the past, 996 thin file,
#: 995 credit-hungry (多头借贷), 999 blacklisted (失信); other numbers draw a profile.
def _demo_customers() -> list[tuple[str, str, Any]]:
    from datetime import date

    from nongxin.core.customers.services import CustomerInput, HouseholdInput
    from nongxin.sdk.identity import make_resident_id

    def rid(area: str, born: date, seq: int) -> str:
        return make_resident_id(area, born, seq)

    lx, cm = "JNRCB-LX-G01", "jinan.cm"
    caishi = ("彩石村", "一组", "0016")
    return [
        ("salaried", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1988, 6, 12), 998), name="王敏", grid=lx, manager=cm,
            phone="13905310001", address="济南市历下区泉城路18号", occupation="教师", employer="济南市历下区实验小学",
            segment="salaried", annual_income="96000.00")),
        ("farmer_head", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1972, 3, 8), 997), name="张建国", grid=lx, manager=cm,
            phone="13805310016", address="济南市历下区彩石街道彩石村一组16号", occupation="蔬菜种植户",
            segment="farmer", annual_income="68000.00", household=HouseholdInput(*caishi, "head"))),
        ("farmer_spouse", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1974, 11, 20), 996), name="刘秀英", grid=lx, manager=cm,
            address="济南市历下区彩石街道彩石村一组16号", occupation="蔬菜种植户", segment="farmer",
            annual_income="30000.00", household=HouseholdInput(*caishi, "spouse"))),
        ("farmer_son", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1998, 5, 6), 995), name="张磊", grid=lx, manager=cm,
            phone="15205310016", address="济南市历下区彩石街道彩石村一组16号", occupation="生猪养殖户",
            segment="farmer", annual_income="42000.00", household=HouseholdInput(*caishi, "child"))),
        ("owner", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1980, 9, 15), 457), name="赵立新", grid=lx, manager=cm,
            phone="13605310457", address="济南市历下区文化东路9号", occupation="个体经营者", segment="merchant",
            annual_income="150000.00")),
        ("shop", cm, CustomerInput(
            kind="individual_business", id_number="92370102MA3C5R998Q", name="济南市历下区立新便利店", grid=lx,
            manager=cm, phone="053188880457", address="济南市历下区文化东路9号", occupation="便利店零售",
            segment="merchant", annual_income="360000.00", legal_representative=rid("370102", date(1980, 9, 15), 457))),
        ("blacklisted", cm, CustomerInput(
            kind="individual", id_number=rid("370102", date(1983, 1, 27), 999), name="孙大伟", grid=lx, manager=cm,
            phone="13705310999", address="济南市历下区山大路66号", occupation="货车司机", employer="济南顺达物流有限公司",
            segment="salaried", annual_income="72000.00")),
        ("linyi_farmer", "linyi.cm", CustomerInput(
            kind="individual", id_number=rid("371302", date(1968, 2, 14), 226), name="孙桂兰", grid="LYRCB-LS-G01",
            manager="linyi.cm", address="临沂市兰山区沂河村三组8号", occupation="花生种植户", segment="farmer",
            annual_income="52000.00", household=HouseholdInput("沂河村", "三组", "0008", "head"))),
        ("taian_salaried", "taian.cm", CustomerInput(
            kind="individual", id_number=rid("370902", date(1990, 12, 1), 173), name="陈晓东", grid="TARCB-TS-G01",
            manager="taian.cm", address="泰安市泰山区岱宗大街120号", occupation="医生", employer="泰安市第一人民医院",
            segment="salaried", annual_income="120000.00")),
    ]


def _file_demo_customers(uow: UnitOfWork) -> None:
    """A salaried teacher, a farmer household of three, a shop and its owner, a blacklisted driver
    at Jinan; a farmer at Linyi and a doctor at Tai'an: each filed by that bank's customer manager."""
    from nongxin.core.customers.services import create_customer

    for key, manager, data in _demo_customers():
        create_customer(uow, users.principal_named(uow.session, manager), data)


def demo_customer(session: "Session", key: str) -> "Customer":
    """A seeded demo customer by its key ("salaried", "farmer_head", "shop", "blacklisted", ...)."""
    import sqlalchemy as sa

    from nongxin.core.customers.models import Customer

    number = next(data.id_number for k, _, data in _demo_customers() if k == key)
    return session.execute(sa.select(Customer).where(Customer.id_number == number)).scalar_one()


#: The demo approvers' authority (授权额度), so manual review reaches approval (part E).
APPROVAL_LIMITS = {"jinan.approver": "500000"}


def _grant_approval_authority(uow: UnitOfWork) -> None:
    from nongxin.core.credit.review import set_approval_limit
    from nongxin.core.auth import system_principal

    province = services.root(uow.session)
    assert province is not None
    for username, amount in APPROVAL_LIMITS.items():
        set_approval_limit(uow, system_principal(province, "system"), username, amount)


# -- demo applications: one per outcome of the decision ------------------------------------------
#: (what it shows, customer key, product, amount, term in months, repayment method, consent purposes)
DEMO_APPLICATIONS: tuple[tuple[str, str, str, str, int, str, tuple[str, ...]], ...] = (
    ("approved at once (秒批)", "salaried", "XIN_E_DAI", "30000", 12, "equal_installment", ("02",)),
    ("manual review (above the auto-approval ceiling)", "farmer_head", "FU_NONG_DAI", "150000", 24,
     "quarterly_interest", ("02",)),
    ("rejected with a category", "blacklisted", "XIN_E_DAI", "20000", 12, "equal_installment", ("02",)),
    ("awaiting consent (nothing queried)", "owner", "XIN_E_DAI", "50000", 12, "equal_installment", ()),
)


@dataclass(frozen=True)
class DemoApplication:
    shows: str
    number: str
    status: str
    detail: str


def decide_demo_applications(runtime: "Runtime") -> list[DemoApplication]:
    """File the demo applications as Jinan's customer manager (recording the customers' bureau
    consent where the story has one) and decide each through the same services as the API, so
    every outcome is there to look at: approved at once, manual review, rejected with a category,
    awaiting consent. Each application commits on its own."""
    from datetime import timedelta
    from decimal import Decimal

    from nongxin.core.bureau.services import SubjectInput, evidence_digest, record_authorization
    from nongxin.core.credit.applications import Filing, file
    from nongxin.core.credit.decision import decide

    done: list[DemoApplication] = []
    for shows, key, product, amount, term, method, purposes in DEMO_APPLICATIONS:
        with UnitOfWork(runtime.sessions) as uow:
            cm = users.principal_named(uow.session, "jinan.cm")
            customer = demo_customer(uow.session, key)
            today = runtime.clock.business_date()
            if purposes:
                record_authorization(
                    uow, cm, runtime.settings, subject=SubjectInput("resident_id", customer.id_number, customer.name),
                    purposes=list(purposes), channel="paper", evidence_ref=f"archive://demo/consent-{key}.pdf",
                    evidence_sha256=evidence_digest(f"demo consent {key}".encode()),
                    granted_at=runtime.clock.now() - timedelta(days=1), today=today)
            app = file(uow, cm, runtime.plugins, Filing(
                customer_id=customer.id, product_code=product, amount=Decimal(amount), term_months=term,
                repayment_method=method, channel="counter", purpose="demo"), today=today)
            uow.commit()
            decided = decide(uow, cm, runtime, app.id)
            decision = decided.decision
            if decision is None:
                detail = "missing consent: " + ", ".join(f"{m['name']} ({m['purpose']})" for m in decided.missing_consent)
            elif decision.outcome == "approved":
                detail = f"{decided.application.approved_amount} yuan at {decided.application.approved_rate}"
            elif decision.outcome == "rejected":
                detail = f"category {decision.refusal_category}"
            else:
                detail = "; ".join(decision.record["outcome"]["reasons"])[:120]
            done.append(DemoApplication(shows, decided.application.number, decided.application.status.value, detail))
    return done


# -- the ledger: lines, loans of every method, repayments and closed days (issue 11) ---------------

#: Credit lines carried over from core banking (存量授信) when the demo's books open:
#: (customer key, its manager, product, amount, rate).
DEMO_LINES: tuple[tuple[str, str, str, str, str], ...] = (
    ("salaried", "jinan.cm", "XIN_E_DAI", "100000.00", "0.0435"),
    ("farmer_head", "jinan.cm", "FU_NONG_DAI", "200000.00", "0.048"),
    ("linyi_farmer", "linyi.cm", "FU_NONG_DAI", "80000.00", "0.05"),
)
#: Drawdowns on the first day of the books: (line index, amount, term, method, repaid on time?).
DEMO_DRAWDOWNS: tuple[tuple[int, str, int, str, bool], ...] = (
    (0, "24000.00", 12, "equal_installment", True),
    (0, "12000.00", 12, "monthly_interest", False),
    (1, "60000.00", 12, "equal_principal", True),
    (1, "50000.00", 12, "quarterly_interest", True),
    (2, "30000.00", 6, "bullet", True),
    (2, "20000.00", 6, "equal_principal", False),
)
#: How many days before today the demo's books open.
DEMO_BOOKS_DAYS = 65


@dataclass(frozen=True)
class DemoLoan:
    loan_no: str
    method: str
    status: str
    outstanding: str
    overdue_days: int


def demo_ledger(runtime: "Runtime") -> list[DemoLoan]:
    """Open the demo's books ``DEMO_BOOKS_DAYS`` days ago: credit lines carried over from core
    banking, drawdowns of every repayment method through the drawdown service, then each day in
    turn the installments the good payers owe repaid on their due date through the repayment
    service and the day closed by the day close, up to yesterday; so the books are at today, some
    loans are current and some overdue. Runs from ``nongxin demo`` only (it takes seconds)."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from nongxin.core.credit.applications import next_number
    from nongxin.core.credit.drawdowns import DrawRequest, draw
    from nongxin.core.credit.models import CreditLine, CreditLineStatus, Installment, InstallmentStatus, Loan
    from nongxin.core.credit.repayments import repay
    from nongxin.core.jobs.close_day import run as close_days

    opened = runtime.clock.business_date() - timedelta(days=DEMO_BOOKS_DAYS)
    at_open = runtime.as_of(opened)
    line_ids: list[int] = []
    with UnitOfWork(runtime.sessions) as uow:
        for key, _manager, product, amount, rate in DEMO_LINES:
            customer = demo_customer(uow.session, key)
            bank = services.county_bank_of(uow.session, customer.county_bank)
            assert bank is not None
            line = CreditLine(number=next_number(uow, bank, opened.year, "C"), county_bank_id=bank.id,
                              institution_id=customer.grid_id, customer_id=customer.id, amount=Decimal(amount),
                              annual_rate=Decimal(rate), products=[product], start_on=opened,
                              end_on=opened + timedelta(days=730), revolving=True, status=CreditLineStatus.ACTIVE)
            uow.session.add(line)
            uow.flush()
            record(uow.session, actor="system", action="credit_line.migrate", target=f"credit_line:{line.number}",
                   institution_code=bank.code, after={"amount": amount, "product": product})
            line_ids.append(line.id)
        uow.commit()
    good: dict[str, str] = {}  # loan number -> the manager who takes its repayments
    loans: list[str] = []
    for n, (index, amount, term, method, pays) in enumerate(DEMO_DRAWDOWNS):
        manager = DEMO_LINES[index][1]
        with UnitOfWork(at_open.sessions) as uow:
            drawn = draw(uow, users.principal_named(uow.session, manager), at_open, line_ids[index],
                         DrawRequest(Decimal(amount), term, method, f"62284800000000{n:02d}"), f"demo-draw-{n}")
            loans.append(drawn.loan.loan_no)
            if pays:
                good[drawn.loan.loan_no] = manager
    day = opened
    yesterday = runtime.clock.business_date() - timedelta(days=1)
    while day <= yesterday:
        on_day = runtime.as_of(day)
        with UnitOfWork(on_day.sessions) as uow:
            due = uow.session.execute(
                sa.select(Loan.loan_no, Installment.principal, Installment.interest)
                .join(Installment, (Installment.loan_id == Loan.id) & (Installment.version == Loan.schedule_version))
                .where(Loan.loan_no.in_(good), Installment.due_on == day,
                       Installment.status != InstallmentStatus.PAID)).all()
        for loan_no, principal, interest in due:
            with UnitOfWork(on_day.sessions) as uow:
                repay(uow, users.principal_named(uow.session, good[loan_no]), on_day, loan_no, principal + interest,
                      day, f"demo-repay-{loan_no}-{day}")
                uow.commit()
        close_days(on_day, to=day, progress=False)
        day += timedelta(days=1)
    with UnitOfWork(runtime.sessions, write=False) as uow:
        rows = uow.session.execute(sa.select(Loan).where(Loan.loan_no.in_(loans)).order_by(Loan.loan_no)).scalars()
        return [DemoLoan(r.loan_no, r.repayment_method, r.status.value, str(r.outstanding), r.overdue_days)
                for r in rows]



# -- collateral (issue 12) -------------------------------------------------------------------------

#: The demo's collateral: (registering manager, owner key, kind, fields, declared value, first
#: valuation (value, method, valuer kind, valuer, days before today), line's customer key or None,
#: registered?). The vehicle's valuation is older than the vehicles' 180-day interval, so it has
#: expired: its line lends on nothing and is in shortfall.
DEMO_COLLATERAL: tuple[tuple[str, str, str, dict[str, str], str, tuple[str, str, str, str, int],
                             str | None, bool], ...] = (
    ("jinan.cm", "farmer_head", "land_rights",
     {"certificate_no": "LQ370112202400315", "address": "济南市历城区彩石街道彩石村一组", "area_mu": "30",
      "term_ends_on": "2040-12-31"},
     "240000.00", ("240000.00", "income", "external", "山东衡信资产评估有限公司", 40), "farmer_head", True),
    ("jinan.cm", "farmer_head", "guarantee_company",
     {"contract_no": "SDNDB-2026-0318", "guarantor": "山东省农业发展信贷担保有限责任公司",
      "guarantor_uscc": "91370000MA3C9QXK1P", "amount": "100000.00"},
     "100000.00", ("100000.00", "face_value", "internal", "jinan.cm", 40), "farmer_head", True),
    ("jinan.cm", "farmer_head", "deposit",  # a third-party pledge: the farmer's deposit secures another line
     {"account": "6228480012345678", "bank": "济南农商银行历下支行", "balance": "50000.00",
      "matures_on": "2027-06-30"},
     "50000.00", ("50000.00", "face_value", "internal", "jinan.cm", 10), "salaried", True),
    ("jinan.cm", "salaried", "real_estate",
     {"certificate_no": "鲁(2024)济南市不动产权第0012345号", "address": "济南市历下区泉城路180号3单元501",
      "area_sqm": "96.5"},
     "1200000.00", ("1150000.00", "market", "external", "山东衡信资产评估有限公司", 20), "salaried", False),
    ("linyi.cm", "linyi_farmer", "vehicle",
     {"vin": "LSVAM4188C2000001", "plate": "鲁Q·A2345", "model": "五菱荣光"},
     "80000.00", ("72000.00", "market", "internal", "linyi.cm", 200), "linyi_farmer", True),
)


@dataclass(frozen=True)
class DemoItem:
    number: str
    kind: str
    line: str
    value: str
    shows: str


def demo_collateral(runtime: "Runtime") -> list[DemoItem]:
    """Register the demo's collateral through the collateral services: items of several kinds (one
    a third-party pledge), their valuations, pledges to the demo's credit lines and mortgage
    registrations; the simulated valuer switched on for the province revalues the land rights; the
    shortfall scan then finds the Linyi line whose vehicle's valuation has expired."""
    from datetime import timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from nongxin.core.collateral import pledges, registry
    from nongxin.core.collateral.models import CollateralItem, Pledge
    from nongxin.core.collateral.revalue import value_now
    from nongxin.core.collateral.scan import scan
    from nongxin.core.credit.models import CreditLine
    from nongxin.core.plugin_state.models import PluginSwitch
    from nongxin.core.plugin_state.services import bump_generation

    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as uow:  # the demo has no appraiser's index: the simulator answers
        province = services.root(uow.session)
        assert province is not None
        uow.session.add(PluginSwitch(institution_id=province.id, plugin="collateral_sim", enabled=True,
                                     settings=None, updated_by="system"))
        bump_generation(uow.session)
        record(uow.session, actor="system", action="plugin.enable", target="plugin:collateral_sim",
               institution_code=province.code, after={"enabled": True, "source": f"set at {province.code}"})
        uow.commit()
    made: list[tuple[int, str]] = []
    for manager, owner_key, kind, fields, declared, first, line_key, registered in DEMO_COLLATERAL:
        value, method, valuer_kind, valuer, days_ago = first
        with UnitOfWork(runtime.sessions) as uow:
            me = users.principal_named(uow.session, manager)
            owner = demo_customer(uow.session, owner_key)
            item = registry.register(uow, me, registry.RegisterRequest(
                kind=kind, owner=owner.id, fields=fields, declared_value=Decimal(declared),
                valuation=registry.ValuationRequest(Decimal(value), method, valuer, today - timedelta(days=days_ago),
                                                    valuer_kind=valuer_kind)), today)
            line_number = ""
            if line_key is not None:
                customer = demo_customer(uow.session, line_key)
                line = uow.session.execute(sa.select(CreditLine).where(CreditLine.customer_id == customer.id)
                                           .order_by(CreditLine.id)).scalars().first()
                assert line is not None
                pledge = pledges.pledge(uow, me, item.id, line.id, today=today)
                if registered and pledge.registration.value == "pending":
                    pledges.register_mortgage(uow, me, pledge.id, registration_no=f"鲁(2026)不动产证明第{item.id:07d}号",
                                              registered_on=today, today=today)
                line_number = line.number
            uow.commit()
            made.append((item.id, line_number))
    with UnitOfWork(runtime.sessions) as uow:  # the land rights, revalued by the simulated valuer
        land = next(i for i, _ in made)
        value_now(uow, users.principal_named(uow.session, "jinan.cm"), runtime, land)
        uow.commit()
    report = scan(runtime, today)
    short = {s.line_number: s for s in report.shortfalls}
    shown: list[DemoItem] = []
    with UnitOfWork(runtime.sessions, write=False) as uow:
        for item_id, line_number in made:
            item = uow.session.get(CollateralItem, item_id)
            assert item is not None
            current = registry.summary(uow, users.principal_named(uow.session, "province.admin"), item, today)
            state = uow.session.execute(sa.select(Pledge.registration).where(Pledge.item_id == item_id)).scalar()
            note = f"pledged, {state.value}" if state is not None else "not pledged"
            if line_number in short:
                note += f"; line in shortfall by {short[line_number].shortfall} yuan"
            shown.append(DemoItem(item.number, item.kind, line_number, str(current.get("value")), note))
    return shown


@dataclass(frozen=True)
class DemoWarning:
    subject: str  # the loan number, or the pledged line's number
    rule: str
    colour: str
    due_on: str
    assigned_to: str


def demo_warnings(runtime: "Runtime") -> tuple[list[DemoWarning], str]:
    """The nightly post-loan work over the demo's books: the province admin loads a court list
    (one demo borrower restricted from high consumption) through the court-list service; the
    nightly scan raises warnings from the post-loan rules (overdue loans, the court list) and the
    collateral rules (the Linyi line in shortfall), each with a task due in working days; then the
    five-tier classification. Returns the warnings and the classification's NPL summary."""
    from datetime import timedelta

    import sqlalchemy as sa

    from nongxin.core.credit.models import Loan
    from nongxin.core.early_warning import watchlists
    from nongxin.core.early_warning.classification import classify
    from nongxin.core.early_warning.models import Warning, WarningTask
    from nongxin.core.early_warning.scan import scan
    from nongxin.core.institutions.models import User

    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as uow:
        borrower = uow.session.execute(sa.select(Loan.borrower_id_number, Loan.borrower_name).where(
            Loan.manager_id.is_not(None), Loan.overdue_days == 0).order_by(Loan.id)).first()  # a current payer
        assert borrower is not None
        watchlists.load(uow, users.principal_named(uow.session, "province.admin"), watchlists.rows_table([{
            "id_number": borrower[0], "name": borrower[1], "case_no": f"({today.year})鲁0102执{today.month:02d}01号",
            "court": "济南市历下区人民法院", "listed_on": (today - timedelta(days=3)).isoformat()}]),
            kind="consumption_restriction", county=None, source="demo")
    scan(runtime, today)
    classes = classify(runtime, today)
    npl = "; ".join(f"{b.county_bank} NPL ratio {b.npl_ratio * 100:.2f}% of {b.loans} loans" for b in classes.banks)
    shown: list[DemoWarning] = []
    with UnitOfWork(runtime.sessions, write=False) as uow:
        rows = uow.session.execute(
            sa.select(Warning.loan_no, Warning.line_number, Warning.rule_code, Warning.colour, WarningTask.due_on,
                      User.username).join(WarningTask, WarningTask.warning_id == Warning.id)
            .outerjoin(User, User.id == WarningTask.assigned_to).order_by(Warning.id)).all()
    for loan_no, line_number, rule, colour, due_on, username in rows:
        shown.append(DemoWarning(loan_no or f"line {line_number}", rule, colour, due_on.isoformat(), username or "-"))
    return shown, npl


@dataclass(frozen=True)
class DemoRule:
    id: int
    code: str
    owner: str
    status: str
    shows: str


def demo_rules(runtime: "Runtime") -> list[DemoRule]:
    """Rules kept by staff, through the services and maker-checker, before the nightly scan: a
    Jinan shadow post-loan rule (drafted by jinan.params, approved by jinan.params2), a province
    monitoring model with one condition (province.params, province.params2), and a Jinan admission
    rule left waiting for approval."""
    from nongxin.core.rules import monitoring, services
    from nongxin.core.rules.stored_checks import RuleSpec

    today = runtime.clock.business_date()
    shown: list[DemoRule] = []

    def keep(maker: str, checker: str | None, spec: RuleSpec, shows: str) -> None:
        with UnitOfWork(runtime.sessions) as uow:
            row = services.draft(uow, users.principal_named(uow.session, maker), runtime.plugins, spec, today)
            services.step(uow, users.principal_named(uow.session, maker), runtime.plugins, row.id, "submit", today)
            if checker is not None:
                services.step(uow, users.principal_named(uow.session, checker), runtime.plugins, row.id, "approve",
                              today, note="演示复核")
            uow.commit()
            owner = "SD" if maker.startswith("province") else "JNRCB"
            shown.append(DemoRule(row.id, row.code, owner, row.status.value, shows))

    keep("jinan.params", "jinan.params2", RuleSpec(
        "JN-PL-S01", "逾期超过3天且余额超过5000元", "post_loan", "yellow", "county",
        "overdue_days > 3 and outstanding > 5000", reason="试运行: 早于省联社规则关注逾期", shadow=True),
        "shadow: its hits are stored apart, never a warning")
    with UnitOfWork(runtime.sessions) as uow:
        model = monitoring.create_model(uow, users.principal_named(uow.session, "province.params"), code="PROV-M01",
                                        name="到期贷款还款来源监测", stage="post_loan",
                                        description="一年内到期且有余额的贷款, 供贷后人员提前核实还款来源")
        uow.commit()
        model_id = model.id
    keep("province.params", "province.params2", RuleSpec(
        "PROV-M01-C1", "一年内到期", "post_loan", "yellow", "province",
        "days_to_maturity <= 365 and outstanding > 0", reason="一年内到期, 核实还款来源", model=model_id),
        "condition of monitoring model PROV-M01: suspicious records each night")
    keep("jinan.params", None, RuleSpec(
        "JN-ADM-101", "大额申请人工复核", "admission", "manual_review", "county", "amount > 200000",
        reason="单笔申请超过20万元"), "waiting for a second person: nongxin rules approve ID --user jinan.params2")
    return shown


def demo_rule_night(runtime: "Runtime") -> str:
    """What the night did with the demo's kept rules: shadow hits and suspicious records."""
    import sqlalchemy as sa

    from nongxin.core.rules.models import ShadowHit, SuspiciousRecord

    with UnitOfWork(runtime.sessions, write=False) as uow:
        shadow = uow.session.execute(sa.select(sa.func.count()).select_from(ShadowHit)).scalar_one()
        suspicious = uow.session.execute(sa.select(sa.func.count()).select_from(SuspiciousRecord)).scalar_one()
    return (f"shadow rule hits stored apart: {shadow} (nongxin rules shadow-report --user jinan.params "
            f"--institution JNRCB); suspicious records: {suspicious} (nongxin rules suspicious --user jinan.postloan)")


# -- whole-village credit (整村授信, issue 15) --------------------------------------------------------

#: 沂河村's roster: (group, household no, head, spouse or None, land mu, main business, assets, the
#: head's annual income, the colour the three reviewers give). Household 0008 is the demo farmer 孙桂兰's, filed earlier: the
#: import links her into the village rather than filing her twice.
DEMO_ROSTER = [
    ("三组", "0008", None, None, "12.5", "花生种植", "260000", "", "green"),
    ("一组", "0101", ("张立田", 1969), ("王秀芝", 1971), "8", "小麦玉米", "150000", "58000", "green"),
    ("一组", "0102", ("刘德胜", 1975), ("赵玉兰", 1977), "15", "蔬菜大棚", "320000", "96000", "green"),
    ("二组", "0201", ("孙明亮", 1982), None, "6", "生猪养殖", "180000", "45000", "white"),
    ("二组", "0202", ("李长河", 1966), ("周桂香", 1968), "20", "苹果种植", "410000", "130000", "green"),
    ("三组", "0301", ("王建华", 1979), ("陈美玲", 1981), "4", "农家乐", "90000", "40000", "grey"),
    ("三组", "0302", ("马大军", 1973), None, "10", "花生种植", "120000", "35000", "black"),
]


def _demo_roster_csv() -> str:
    from datetime import date

    from nongxin.core.village.roster import COLUMNS
    from nongxin.sdk.identity import make_resident_id

    lines = [",".join(COLUMNS)]
    farmer = dict(_demo_customers_by_key())["linyi_farmer"]
    for n, (group, number, head, spouse, land, business, assets, income, _) in enumerate(DEMO_ROSTER):
        people = [("head", farmer.name, farmer.id_number)] if head is None else [
            ("head", head[0], make_resident_id("371302", date(head[1], 3, 1 + n), 401 + 2 * n))]
        if spouse is not None:
            people.append(("spouse", spouse[0], make_resident_id("371302", date(spouse[1], 5, 1 + n), 400 + 2 * n)))
        for relation, name, number_ in people:
            figures = (land, business, assets, income) if relation == "head" else ("", "", "", "")
            lines.append(",".join(("沂河村", group, number, number_, name, relation, "", *figures, "farmer")))
    return "\n".join(lines) + "\n"


def _demo_customers_by_key() -> list[tuple[str, Any]]:
    return [(key, data) for key, _, data in _demo_customers()]


def _switch_on(runtime: "Runtime", institution_id: int, plugin: str, code: str) -> None:
    from nongxin.core.plugin_state.models import PluginSwitch
    from nongxin.core.plugin_state.services import bump_generation

    with UnitOfWork(runtime.sessions) as uow:
        uow.session.add(PluginSwitch(institution_id=institution_id, plugin=plugin, enabled=True, settings=None,
                                     updated_by="system"))
        bump_generation(uow.session)
        record(uow.session, actor="system", action="plugin.enable", target=f"plugin:{plugin}", institution_code=code,
               after={"enabled": True, "source": f"set at {code}"})
        uow.commit()


def demo_village(runtime: "Runtime") -> list[str]:
    """Whole-village credit at Linyi, through the services: linyi.cm imports 沂河村's roster and
    opens a back-to-back review with three reviewers (the village secretary, a villager
    representative and himself); linyi.approver closes it and pre-credits the green and white
    households with 沂蒙云贷 (switched on at Linyi; 富农贷 without the example plugins); linyi.admin
    rates the village. What it shows."""
    from datetime import date

    import sqlalchemy as sa

    from nongxin.core.importing import read_text
    from nongxin.core.customers.models import Household
    from nongxin.core.village import precredit, review, roster, villages
    from nongxin.core.village.models import PrecreditOffer, Village
    from nongxin.sdk.identity import make_resident_id

    today = runtime.clock.business_date()
    # 沂蒙云贷 when its example plugin is installed (the README's install), else the province's
    # farmer product 富农贷 (a bare `pip install .` of the core)
    yimeng = "yimeng_cloud_loan" in runtime.plugins.host.loaded
    with UnitOfWork(runtime.sessions) as uow:
        linyi = services.get_by_code(uow.session, "LYRCB")
        assert linyi is not None
        linyi_id = linyi.id
    if yimeng:
        _switch_on(runtime, linyi_id, "yimeng_cloud_loan", "LYRCB")
    with UnitOfWork(runtime.sessions) as uow:
        table = read_text(_demo_roster_csv(), name="沂河村花名册.csv", columns=roster.COLUMNS)
        imported = roster.import_roster(uow, users.principal_named(uow.session, "linyi.cm"), table,
                                        grid="LYRCB-LS-G01", manager="linyi.cm", file_name="沂河村花名册.csv", today=today)
    with UnitOfWork(runtime.sessions) as uow:
        cm = users.principal_named(uow.session, "linyi.cm")
        village = uow.session.execute(sa.select(Village).where(Village.name == "沂河村")).scalar_one()
        rnd = review.open_round(uow, cm, village_id=village.id, name="2026年度背靠背评议", today=today)
        reviewers = [
            review.add_reviewer(uow, cm, rnd.id, kind="official", name="沂河村党支部书记",
                                id_number=make_resident_id("371302", date(1965, 8, 8), 771), today=today),
            review.add_reviewer(uow, cm, rnd.id, kind="representative", name="村民代表",
                                id_number=make_resident_id("371302", date(1970, 2, 2), 773), today=today),
            review.add_reviewer(uow, cm, rnd.id, kind="manager", name="兰山客户经理",
                                id_number=make_resident_id("371302", date(1990, 6, 6), 775), username="linyi.cm",
                                today=today)]
        households = dict(uow.session.execute(sa.select(Household.household_no, Household.id).where(
            Household.village_id == village.id)).all())
        for group, number, *_, colour in DEMO_ROSTER:
            for reviewer in reviewers:
                review.rate(uow, cm, rnd.id, review.RatingInput(
                    reviewer.id, households[number], 2 if colour in ("grey", "black") else 4, 3, 3, 3, 4, colour,
                    "拖欠民间借贷, 村里多次调解" if colour == "black" else ""))
        uow.commit()
        round_id, village_id = rnd.id, village.id
    with UnitOfWork(runtime.sessions) as uow:
        closed = review.close_round(uow, users.principal_named(uow.session, "linyi.approver"), runtime, round_id,
                                    today=today)
        uow.commit()
        assert closed.status.value == "closed"
    with UnitOfWork(runtime.sessions) as uow:
        runs = precredit.run_precredit(uow, users.principal_named(uow.session, "linyi.approver"), runtime,
                                       village=village_id, product="YMYD" if yimeng else None)
    with UnitOfWork(runtime.sessions) as uow:
        rated = villages.rate(uow, users.principal_named(uow.session, "linyi.admin"), village_id=village_id, today=today)
        uow.commit()
        offers = uow.session.execute(sa.select(PrecreditOffer.status, PrecreditOffer.limit, PrecreditOffer.rate).where(
            PrecreditOffer.village_id == village_id).order_by(PrecreditOffer.household_id)).all()
    run = runs[0]
    shown = [f"沂河村 roster: {imported.households_created} households filed, {imported.households_updated} linked "
             f"(孙桂兰's), {imported.members_created} members",
             f"peer review round {round_id} closed by linyi.approver: colours "
             + ", ".join(f"{number} {colour}" for _, number, *_, colour in DEMO_ROSTER),
             f"pre-credit run {run.run_id} ({'沂蒙云贷' if yimeng else '富农贷'}, green and white households): "
             f"{run.offered} offered, "
             f"{run.referred} referred, {run.rejected} rejected: "
             + ", ".join(f"{status.value} {limit or '-'} at {rate or '-'}" for status, limit, rate in offers),
             f"credit village (信用村): {'yes' if rated[0].credit_village else 'not yet'} "
             f"({'; '.join(rated[0].reasons) or 'every threshold met'})",
             "accept an offer with the household's consent and signature: nongxin village accept OFFER "
             "--signature REF --user linyi.cm"]
    return shown
