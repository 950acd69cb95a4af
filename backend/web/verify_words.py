"""The words of the verification pages (/verify, /verify/{id}) in zh and en.

The tier and state texts are not here: they come from manifests/labels.json (`tiers.wording`,
`ManifestData.display`), the same words the player shows. This module holds only the page's own words:
headings, the names of the facts, and what each verdict, trust and integrity value means to a person.
"""

from __future__ import annotations

import json

from starlette.requests import Request

from backend.vocabulary import Integrity, IssuerTrust, ReportCategory, Verdict

LANGS = ("zh", "en")

UI: dict[str, dict[str, str]] = {
    "zh": {
        "upload_title": "检查一个文件",
        "upload_lead": "选择或拖入图片、视频或音频文件，查看其内容凭证和AI标识。文件仅用于本次检查。",
        "drop": "将文件拖到这里，或点击选择文件", "choose": "选择文件", "checking": "正在检查…",
        "queued": "文件较大，已排队检查…", "result": "检查结果", "verdict": "签名结论", "tier": "AI标识",
        "no_label": "未检测到AI标识：文件没有内容凭证或隐式标识", "issuer": "签发方", "trust": "签发方信任",
        "integrity": "文件完整性", "generator": "生成工具", "publisher": "发布者", "signed_at": "签名时间",
        "details": "查看登记详情", "not_registered": "该文件未在本服务登记。", "error": "检查失败",
        "generic_error": "检查失败，请稍后再试。", "detail_title": "内容凭证", "unknown_title": "未知内容",
        "unknown_body": "没有登记内容使用该编号。", "state": "当前状态", "content_id": "内容编号",
        "chain": "来源链（成分）", "no_chain": "清单中没有记录成分。", "ingredient": "成分",
        "earlier": "更早的清单（由父成分逐级追溯）", "own_manifest": "成分自身的清单", "check_valid": "签名有效",
        "check_untrusted": "签名有效，签发方不在本服务的信任列表中", "check_failed": "未通过校验",
        "relationship": "关系", "format": "格式", "evidence": "判断依据", "evidence_source": "依据来源",
        "detection": "检测结论", "models": "检测模型及其实测表现", "model": "模型", "viewer_facing": "可向观众显示",
        "yes": "是", "no": "否", "auc": "ROC AUC（95%区间）", "fpr": "观众阈值下真实内容误判率（95%区间）",
        "threshold": "观众阈值 / 复核阈值", "measured_on": "评测数据", "card": "模型卡",
        "models_note": "检测模型只给出概率，不能证明内容由AI生成；有内容凭证时以凭证为准。",
        "report": "举报", "report_title": "举报该内容", "category": "举报原因", "description": "说明",
        "good_faith": "我确认所举报内容属实，出于善意提交。", "send": "提交举报", "sent": "举报已收到。",
        "follow": "查看处理进度", "poster": "缩略图", "no_preview": "无法显示预览。", "audio": "音频",
        "check_another": "检查其他文件", "refutation": "辟谣", "correction": "辟谣链接", "notice": "通知",
        "statement": "说明", "lang_switch": "English", "updated_at": "更新时间", "tier_code": "标识级别",
        "signature": "签名", "report_checked": "举报这个文件", "attach_file": "附上我刚检查的文件",
        "attach_note": "文件仅供审核人员作为证据查看，不会公开。",
    },
    "en": {
        "upload_title": "Check a file", "upload_lead": "Choose or drop an image, video or audio file to see its "
        "content credentials and AI label. The file is used for this check only.",
        "drop": "Drop a file here, or click to choose one", "choose": "Choose a file", "checking": "Checking…",
        "queued": "Large file: queued for checking…", "result": "Result", "verdict": "Signature", "tier": "AI label",
        "no_label": "No AI label found: the file carries no content credentials or implicit label",
        "issuer": "Issuer", "trust": "Issuer trust", "integrity": "File integrity", "generator": "Generator",
        "publisher": "Publisher", "signed_at": "Signed at", "details": "See the registered details",
        "not_registered": "This file is not registered with this service.", "error": "The check failed",
        "generic_error": "The check failed; please try again later.", "detail_title": "Content credentials",
        "unknown_title": "Unknown content", "unknown_body": "No registered content has this id.",
        "state": "State", "content_id": "Content id", "chain": "Provenance chain (ingredients)",
        "no_chain": "The manifest records no ingredients.", "ingredient": "Ingredient",
        "earlier": "Earlier manifests (followed back through each parent ingredient)",
        "own_manifest": "Its own manifest", "check_valid": "signature valid",
        "check_untrusted": "signature valid, issuer not on this service's trust list",
        "check_failed": "failed its check",
        "relationship": "Relationship", "format": "Format", "evidence": "Evidence",
        "evidence_source": "Evidence source", "detection": "Detection", "models": "Detectors and their measured "
        "accuracy", "model": "Model", "viewer_facing": "May label for viewers", "yes": "yes", "no": "no",
        "auc": "ROC AUC (95 % interval)", "fpr": "False-positive rate on real media at the viewer threshold "
        "(95 % interval)", "threshold": "Viewer / review threshold", "measured_on": "Measured on",
        "card": "Model card", "models_note": "A detector gives a probability, not proof; content credentials, "
        "when present, take precedence.", "report": "Report", "report_title": "Report this content",
        "category": "Reason", "description": "What is wrong",
        "good_faith": "I state in good faith that this report is accurate and complete.", "send": "Send report",
        "sent": "Report received.", "follow": "Follow its handling", "poster": "Thumbnail",
        "no_preview": "No preview available.", "audio": "Audio", "check_another": "Check another file",
        "refutation": "Refutation", "correction": "Correction", "notice": "Notice", "statement": "Statement",
        "lang_switch": "中文", "updated_at": "Updated at", "tier_code": "Label tier", "signature": "Signature",
        "report_checked": "Report this file", "attach_file": "Attach the file I just checked",
        "attach_note": "Only the moderators see the file, as evidence; it is not published.",
    },
}

VERDICT: dict[str, dict[str, str]] = {
    Verdict.SIGNED_SYNTHETIC: {"zh": "有效签名：声明为AI生成", "en": "Valid signature: declared AI-generated"},
    Verdict.SIGNED_NOT_SYNTHETIC: {"zh": "有效签名：未声明AI生成", "en": "Valid signature: not declared AI-generated"},
    Verdict.SIGNED_UNTRUSTED: {"zh": "签名有效，但签发方不在信任列表",
                               "en": "Signed, by an issuer not on the trust list"},
    Verdict.TAMPERED: {"zh": "内容凭证无效或文件已被修改", "en": "Credentials invalid or the file was altered"},
    Verdict.UNSIGNED: {"zh": "未签名：没有内容凭证", "en": "Unsigned: no content credentials"},
    Verdict.UNREADABLE: {"zh": "无法读取内容凭证", "en": "The content credentials cannot be read"},
}

TRUST: dict[str, dict[str, str]] = {
    IssuerTrust.TRUSTED: {"zh": "受信任", "en": "trusted"},
    IssuerTrust.UNTRUSTED: {"zh": "不在信任列表", "en": "not on the trust list"},
    IssuerTrust.NONE: {"zh": "无（没有内容凭证）", "en": "none (no content credentials)"},
}

INTEGRITY: dict[str, dict[str, str]] = {
    Integrity.INTACT: {"zh": "与凭证一致", "en": "matches its credentials"},
    Integrity.ALTERED: {"zh": "已被修改", "en": "altered"},
    Integrity.UNKNOWN: {"zh": "未知（没有可比对的凭证）", "en": "unknown (nothing to compare with)"},
}

SOURCE: dict[str, dict[str, str]] = {
    "manifest": {"zh": "内容凭证（C2PA清单）", "en": "content credentials (C2PA manifest)"},
    "implicit_label": {"zh": "文件中的隐式标识（GB 45438）", "en": "the file's implicit label (GB 45438)"},
    "declared": {"zh": "上传者声明", "en": "the uploader's declaration"},
    "detection": {"zh": "检测模型", "en": "detection"},
    "none": {"zh": "无", "en": "none"},
    "signed": {"zh": "本服务签名时写入的内容凭证", "en": "credentials this service wrote when signing"},
}

CATEGORY: dict[str, dict[str, str]] = {
    ReportCategory.UNLABELLED_AI: {"zh": "未添加AI标识", "en": "AI content without an AI label"},
    ReportCategory.WRONG_AI_LABEL: {"zh": "AI标识错误", "en": "Wrong AI label"},
    ReportCategory.DEEPFAKE_IMPERSONATION: {"zh": "深度伪造、冒充他人", "en": "Deepfake impersonation"},
    ReportCategory.RUMOUR: {"zh": "谣言或虚假信息", "en": "Rumour or false information"},
    ReportCategory.ILLEGAL: {"zh": "违法内容", "en": "Illegal content"},
    ReportCategory.PRIVACY_PORTRAIT: {"zh": "侵犯隐私或肖像权", "en": "Privacy or portrait rights"},
    ReportCategory.INTELLECTUAL_PROPERTY: {"zh": "侵犯知识产权", "en": "Intellectual property"},
    ReportCategory.OTHER: {"zh": "其他", "en": "Other"},
}


def language(request: Request) -> str:
    """`?lang=zh|en`, else the first of zh/en in Accept-Language (by q), else zh."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return asked
    best, best_q = "zh", -1.0
    for part in request.headers.get("accept-language", "")[:500].split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


def pick(table: dict[str, dict[str, str]], key: object, lang: str) -> str:
    """The text for `key` in `lang`; an unknown key shows as itself (never as a raw empty cell)."""
    entry = table.get(str(key)) if key is not None else None
    return entry[lang] if entry else ("—" if key in (None, "") else str(key))

# What a report's error codes mean, for the report form on /verify/{id} (the plugin's dialog has its own
# copy in player_plugin/src/i18n.ts); an unknown code gets `generic`.
REPORT_ERRORS: dict[str, dict[str, str]] = {
    "zh": {
        "invalid_category": "请选择举报原因。", "invalid_description": "请填写说明（最多4000字）。",
        "good_faith_required": "请勾选善意声明后再提交。", "invalid_time_range": "时间段无效：结束时间须晚于开始时间。",
        "too_many_items": "一次举报的条目过多。", "invalid_items": "举报条目无效。",
        "unknown_content": "找不到该内容。", "rate_limited": "举报过于频繁，请稍后再试。",
        "content_report_limit": "该内容已收到大量举报，正在处理中。", "generic": "提交失败，请稍后再试。",
        "network": "网络错误，请稍后再试。", "sha256_mismatch": "附件与所举报的文件不一致。",
        "unsupported_media_type": "只能附上图片、视频或音频文件。", "empty_file": "附件是空文件。",
        "bad_media": "附件无法读取。", "payload_too_large": "附件过大。", "image_too_large": "附件图片过大。",
        "missing_media_reference": "请先检查一个文件，或附上它。",
    },
    "en": {
        "invalid_category": "Choose a reason.", "invalid_description": "Describe the problem (at most 4000 "
        "characters).", "good_faith_required": "Tick the good-faith statement to send the report.",
        "invalid_time_range": "Invalid time range: the end must come after the start.",
        "too_many_items": "Too many items in one report.", "invalid_items": "An item of the report is invalid.",
        "unknown_content": "This content cannot be found.", "rate_limited": "Too many reports; try again later.",
        "content_report_limit": "This content has had many reports and is already being handled.",
        "generic": "The report could not be sent; try again later.", "network": "Network error; try again later.",
        "sha256_mismatch": "The attached file is not the file being reported.",
        "unsupported_media_type": "Only a picture, video or audio file can be attached.",
        "empty_file": "The attached file is empty.", "bad_media": "The attached file cannot be read.",
        "payload_too_large": "The attached file is too large.", "image_too_large": "The attached picture is too large.",
        "missing_media_reference": "Check a file first, or attach it.",
    },
}


def json_for_html(value: object) -> str:
    """JSON safe inside <script type="application/json">: no `<`, `>` or `&` survive literally."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
