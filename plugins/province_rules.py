"""The province's default rule pack: admission refusals every county bank inherits.

Counties add stricter rules in their own packs; they cannot switch these off rule by rule.
"""

from __future__ import annotations

from nongxin.sdk import HookContext, PluginInfo, PluginKind, hookimpl
from nongxin.sdk.rules import Rule

PLUGIN = PluginInfo(name="province_rules", version="1.0.0", kind=PluginKind.RULES, enabled_by_default=True,
                    description="省联社默认规则包: admission, post-loan and collateral rules of the province")

# (stage, code, name, expression, outcome, reason). The owner is whatever the province's code is.
RULES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("admission", "PROV-ADM-001", "失信被执行人", "bureau_dishonest_debtor", "reject",
     "申请人为失信被执行人 (dishonest debtor)"),
    ("admission", "PROV-ADM-002", "限制高消费", "bureau_consumption_restriction", "reject",
     "申请人被限制高消费 (consumption restriction)"),
    ("admission", "PROV-ADM-003", "不良贷款", "bureau_non_performing_accounts > 0", "reject",
     "征信存在不良贷款 (non-performing loans)"),
    ("admission", "PROV-ADM-004", "当前逾期", "bureau_current_overdue_amount > 0", "manual_review",
     "征信存在当前逾期 (currently overdue)"),
    ("admission", "PROV-ADM-005", "多头借贷", "bureau_loan_approval_queries_1m >= 4 or bureau_loan_approval_queries_3m >= 8",
     "manual_review", "近期贷款审批查询过多 (many recent credit applications)"),
    ("admission", "PROV-ADM-006", "被执行", "bureau_open_enforcement", "manual_review",
     "存在未结被执行记录 (open enforcement)"),
    ("post_loan", "PROV-PL-001", "逾期超90天", "overdue_days > 90", "red", "逾期超过90天, 至少次级"),
    ("post_loan", "PROV-PL-002", "逾期超30天", "overdue_days between 31 and 90", "orange", "逾期31-90天"),
    ("post_loan", "PROV-PL-003", "出现逾期", "overdue_days between 1 and 30", "yellow", "出现逾期, 至少关注"),
    # issue 13: the court lists the county bank loads (files or connectors) and the latest bureau report
    ("post_loan", "PROV-PL-004", "借款人列入失信被执行人", "court_dishonest_debtor", "red",
     "借款人被列入失信被执行人名单 (listed as a dishonest debtor)"),
    ("post_loan", "PROV-PL-005", "借款人被限制高消费", "court_consumption_restriction", "orange",
     "借款人被限制高消费 (consumption restriction order)"),
    ("post_loan", "PROV-PL-006", "借款人被法院执行", "court_enforcement", "orange",
     "借款人列入法院被执行人名单 (court enforcement)"),
    ("post_loan", "PROV-PL-007", "他行不良", "bureau_non_performing_accounts > 0", "orange",
     "征信显示借款人在他行有不良贷款 (non-performing loans at other lenders)"),
    ("post_loan", "PROV-PL-008", "临近到期且逾期", "days_to_maturity between 0 and 30 and overdue_days > 0", "yellow",
     "贷款30天内到期且已有逾期 (overdue and maturing within 30 days)"),
    # collateral (nightly shortfall scan, one row per pledged position; figures are the line's)
    ("collateral", "PROV-COL-001", "押品不足", "shortfall > 0", "red",
     "授信敞口超过押品可贷额度 (exposure above the collateral's limit)"),
    ("collateral", "PROV-COL-002", "评估过期", "valuation_expired or valuation_age_days > 365", "orange",
     "押品评估已过期或超过一年未重估 (valuation expired or older than a year)"),
    ("collateral", "PROV-COL-003", "登记未办妥", 'registration = "pending" and days_since_pledged > 30', "orange",
     "抵押登记超过30天仍未办妥 (registration still pending 30 days after pledging)"),
    ("collateral", "PROV-COL-004", "抵押率接近上限", "shortfall = 0 and ltv > ltv_limit * 0.9", "yellow",
     "抵质押率超过上限的90% (loan-to-value above 90% of its limit)"),
)


#: The refusal category each reject rule declares (nongxin.sdk.REFUSAL_CATEGORIES).
CATEGORIES = {"PROV-ADM-001": "dishonest_debtor", "PROV-ADM-002": "court_consumption_restriction",
              "PROV-ADM-003": "bureau_hard_reject"}


@hookimpl(trylast=True)
def nongxin_rules(ctx: HookContext) -> list[Rule]:
    province = ctx.ancestry[0] if ctx.ancestry else ctx.institution_code
    return [Rule(code=code, name=name, expression=expression, stage=stage, outcome=outcome, level="province",
                 owner=province, reason=reason, origin=PLUGIN.name, category=CATEGORIES.get(code, ""))
            for stage, code, name, expression, outcome, reason in RULES]
