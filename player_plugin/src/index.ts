/** ES module entry: nothing runs on import; call observe() (or attach()) yourself. */

export { attach, attachStream, configure, disconnect, handleOf, observe, scan } from "./registry";
export { registerVideojsPlugin } from "./videojs";
export type { Videojs, VideojsPlayer } from "./videojs";
export type { AttachOptions, AvlabelHandle, Defaults } from "./options";
export type { StreamBinding } from "./registry";
export type { LabelDocument, LabelState, ReportReceipt, ReportRequest } from "./api";
export { CATEGORIES } from "./i18n";
/** The audio prompt (GB 45438 短长 短短) the plugin plays before labelled audio, for players that play it themselves. */
export { PROMPT_MARKS, PROMPT_SECONDS, schedulePrompt } from "./prompt";
export type { Lang, ReportCategory } from "./i18n";

declare const __VERSION__: string;
export const version: string = __VERSION__;
