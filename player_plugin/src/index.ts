/** ES module entry: nothing runs on import; call observe() (or attach()) yourself. */

export { attach, attachStream, configure, disconnect, handleOf, observe, scan } from "./registry";
export { registerVideojsPlugin } from "./videojs";
export type { Videojs, VideojsPlayer } from "./videojs";
export type { AttachOptions, AvlabelHandle, Defaults } from "./attach";
export type { StreamBinding } from "./registry";
export type { LabelDocument, LabelState, ReportReceipt, ReportRequest } from "./api";
export { CATEGORIES } from "./i18n";
export type { Lang, ReportCategory } from "./i18n";

declare const __VERSION__: string;
export const version: string = __VERSION__;
