/** Built-in texts; the label document's own `display` texts win when present. */

export type Lang = "zh" | "en";

// The report categories, in the form's order (generated from the backend's enum).
export { REPORT_CATEGORIES as CATEGORIES } from "./vocabulary";
export type { ReportCategory } from "./vocabulary";

const zh = {
  signed_synthetic: "本内容由人工智能生成",
  possibly_synthetic: "疑似人工智能生成",
  tampered: "警告：来源信息无效或已被篡改",
  pending_label: "该内容待标识，暂停传播",
  blocked: "该内容已停止传播",
  refuted: "该内容已被辟谣",
  credentials: "内容凭证",
  more: "查看辟谣信息",
  report: "举报",
  fullscreen: "全屏",
  exitFullscreen: "退出全屏",
  details: "内容来源详情",
  close: "关闭",
  issuer: "签发者",
  publisher: "发布者",
  generator: "生成工具",
  signedAt: "签名时间",
  signature: "签名状态",
  state: "状态",
  verify: "查看验证页面",
  sig_valid: "有效",
  sig_untrusted: "签名者不受信任",
  sig_invalid: "无效",
  sig_none: "无签名",
  reportTitle: "举报此内容",
  category: "举报类型",
  description: "问题描述",
  contact: "联系方式（选填）",
  media: "媒体地址",
  contentId: "内容编号",
  time: "播放时间",
  submit: "提交举报",
  cancel: "取消",
  sending: "正在提交…",
  sent: "举报已提交。跟踪编号：",
  secret: "查询码（请妥善保存）：",
  follow: "查看处理进度",
  failed: "提交失败：",
  needDescription: "请填写问题描述。",
  complaint: "发布者投诉联系方式：",
  cat_unlabelled_ai: "未标识的人工智能生成内容",
  cat_deepfake_impersonation: "深度伪造、冒充他人",
  cat_rumour: "谣言或虚假信息",
  cat_illegal: "违法内容",
  cat_privacy_portrait: "侵犯隐私或肖像权",
  cat_intellectual_property: "侵犯知识产权",
  cat_other: "其他",
};

export type TextKey = keyof typeof zh;

const en: Record<TextKey, string> = {
  signed_synthetic: "AI-generated content",
  possibly_synthetic: "Possibly AI-generated",
  tampered: "Warning: provenance invalid or tampered",
  pending_label: "Transmission paused until this content is labelled",
  blocked: "This content has been removed",
  refuted: "This content has been refuted",
  credentials: "Content credentials",
  more: "Read the correction",
  report: "Report",
  fullscreen: "Fullscreen",
  exitFullscreen: "Exit fullscreen",
  details: "Content provenance",
  close: "Close",
  issuer: "Issuer",
  publisher: "Publisher",
  generator: "Generator",
  signedAt: "Signed at",
  signature: "Signature",
  state: "State",
  verify: "Open the verification page",
  sig_valid: "valid",
  sig_untrusted: "signer not trusted",
  sig_invalid: "invalid",
  sig_none: "not signed",
  reportTitle: "Report this content",
  category: "Category",
  description: "Description",
  contact: "Contact (optional)",
  media: "Media URL",
  contentId: "Content id",
  time: "Playback time",
  submit: "Send report",
  cancel: "Cancel",
  sending: "Sending…",
  sent: "Report received. Tracking id: ",
  secret: "Access code (keep it): ",
  follow: "Follow this report",
  failed: "Could not send the report: ",
  needDescription: "Please describe the problem.",
  complaint: "Publisher's complaint contact: ",
  cat_unlabelled_ai: "Unlabelled AI-generated content",
  cat_deepfake_impersonation: "Deepfake impersonation",
  cat_rumour: "Rumour or false information",
  cat_illegal: "Illegal content",
  cat_privacy_portrait: "Privacy or portrait rights",
  cat_intellectual_property: "Intellectual property",
  cat_other: "Other",
};

const TEXTS: Record<Lang, Record<TextKey, string>> = { zh, en };

export function texts(lang: Lang): Record<TextKey, string> {
  return TEXTS[lang];
}

/** zh* → zh, anything else → en. */
export function pickLang(...candidates: (string | null | undefined)[]): Lang {
  for (const c of candidates) {
    if (c) return c.toLowerCase().startsWith("zh") ? "zh" : "en";
  }
  return "en";
}
