"""The demo province: enough tree and people to try every role on a fresh machine."""

from __future__ import annotations

from dataclasses import dataclass

from nongxin.core.audit.services import record
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import services, users
from nongxin.core.institutions.models import Level, Role

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
    ("jinan.cm", "历下客户经理", Role.CUSTOMER_MANAGER, "JNRCB-LX"),
    ("jinan.reviewer", "济南审查岗", Role.REVIEWER, "JNRCB"),
    ("jinan.approver", "济南审批岗", Role.APPROVER, "JNRCB"),
    ("jinan.postloan", "济南贷后检查岗", Role.POST_LOAN_CHECKER, "JNRCB"),
    ("linyi.admin", "临沂农商行管理员", Role.COUNTY_ADMIN, "LYRCB"),
    ("linyi.pm", "临沂产品经理", Role.PRODUCT_MANAGER, "LYRCB"),
    ("linyi.cm", "兰山客户经理", Role.CUSTOMER_MANAGER, "LYRCB-LS"),
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
    seeded = []
    for username, display, role, inst in PEOPLE:
        users.create_user(uow, None, username=username, display_name=display, role=role,
                          institution_code=inst)
        plain, _ = users.issue_token(uow, username, days=token_days, max_days=token_days)
        seeded.append(SeededUser(username, role, inst, plain))
    _grant_approval_authority(uow)
    uow.commit()
    return seeded


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


#: The demo approvers' authority (授权额度), so manual review reaches approval (part E).
APPROVAL_LIMITS = {"jinan.approver": "500000"}


def _grant_approval_authority(uow: UnitOfWork) -> None:
    from nongxin.core.credit.review import set_approval_limit
    from nongxin.core.auth import system_principal

    province = services.root(uow.session)
    assert province is not None
    for username, amount in APPROVAL_LIMITS.items():
        set_approval_limit(uow, system_principal(province, "system"), username, amount)
