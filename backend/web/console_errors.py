"""A refused console action in the staff member's language: the domain error's code mapped to a zh sentence
(the English pages show the domain message itself, which says the same with its figures)."""

from __future__ import annotations

from backend.domain_errors import DomainError

# The codes a console form can meet (moderation, appeals, assignment, trust lists, accounts).
REFUSALS_ZH = {
    "invalid_action": "请选择一项有效的处理措施。",
    "action_required": "此结果需要同时选择替代的处理措施。",
    "reasons_required": "请填写处理理由（不少于规定字数）。",
    "reasons_too_long": "处理理由过长，请精简后再提交。",
    "invalid_public_statement": "公开说明过长或格式不正确。",
    "invalid_rule": "请选择规则目录中的一条规则。",
    "unknown_rule": "规则目录中没有这条规则。",
    "invalid_facts": "事实说明过长或格式不正确。",
    "refutation_required": "辟谣需要填写辟谣说明（中文或英文）和更正信息的链接。",
    "invalid_refutation_url": "更正信息的链接须为 http(s) 网址。",
    "invalid_refutation_text": "辟谣说明须为中文和/或英文文字，每种不超过 500 字。",
    "no_media_reference": "此案件没有可处理的媒体哈希或完整网址：只能驳回，或对账号采取措施。",
    "no_publisher": "此案件的媒体没有已登记的发布者，无法对账号采取措施。",
    "appeal_case": "申诉案件请在申诉决定表单中处理。",
    "appeal_decided": "此申诉已有决定。",
    "same_decider": "作出原决定的审核员不能处理对该决定的申诉。",
    "invalid_outcome": "请选择申诉结果：维持、撤销或变更。",
    "invalid_decision": "申诉决定的内容不完整。",
    "invalid_assignee": "案件只能分配给在职的审核员或管理员。",
    "unknown_case": "没有这个案件。",
    "unknown_appeal": "没有这个申诉。",
    "unknown_decision": "没有这项决定。",
    "account_not_found": "没有这个账号。",
    "publisher_status_by_case": "发布者账号的状态须通过案件处理来变更。",
    "own_status": "管理员不能变更自己账号的状态。",
    "invalid_status": "请选择一个有效的账号状态。",
    "rate_limited": "操作过于频繁，请稍后再试。",
    "forbidden": "您的角色没有执行此操作的权限。",
}


def refusal(exc: DomainError, lang: str) -> str:
    """What the console says of a refused action: never an English sentence inside the zh console."""
    if lang == "en":
        return exc.message
    return REFUSALS_ZH.get(exc.code, f"操作未完成，请检查填写的内容后重试（错误代码：{exc.code}）。")
