/**
 * All plugin styles live in the closed shadow root; nothing carries a `part`. In the CSS cascade,
 * `!important` declarations from a shadow tree (`:host`) beat `!important` declarations of the page, so
 * no page rule can hide, move or resize the host. Every size is in px: nothing is inherited (`all:initial`).
 * Constructable stylesheets are not subject to a strict `style-src` CSP; `<style>` is the fallback.
 */

const FONT = 'system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif';
const SHOWN = "visibility:visible!important;opacity:1!important;filter:none!important;clip-path:none!important;"
  + "mask:none!important;transform:none!important;";

export const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;left:0!important;top:0!important;
width:0!important;height:0!important;overflow:visible!important;${SHOWN}pointer-events:none!important;
contain:none!important;content-visibility:visible!important;z-index:2147483647!important}
[hidden]{display:none!important}
*{box-sizing:border-box}
.top{all:initial;position:fixed;inset:0 auto auto 0;width:0;height:0;margin:0;padding:0;border:0;overflow:visible;
background:transparent;pointer-events:none;display:block;${SHOWN}}
.top:not(:popover-open){display:none}
.probe{position:absolute;left:0;top:0;width:100px;height:1px;visibility:hidden}
.box{position:absolute;left:0;top:0;pointer-events:none;overflow:visible;
font:700 var(--fs,14px)/1.25 ${FONT};color:#fff;${SHOWN}}
.bar{position:absolute;top:var(--bt,0px);left:0;right:0;display:flex;align-items:flex-start;gap:4px;padding:4px;
flex-wrap:wrap}
.tools{margin-left:auto;display:flex;gap:4px}
button,a{pointer-events:auto}
.badge{font:inherit;line-height:1.2;padding:.15em .45em;margin:0;border:2px solid #fff;border-radius:.25em;
background:#111;color:#fff;cursor:pointer;text-align:start}
.badge.possibly_synthetic{background:#ffd23f;color:#111;border:2px dashed #111}
.badge.tampered{background:#a50021;color:#fff}
.badge.signed_not_synthetic{background:#fff;color:#111;border-color:#111}
.badge.unavailable{background:#3b3b3b;color:#fff;border:2px dashed #fff}
.tool{font:600 14px/1.2 ${FONT};background:#111;color:#fff;border:1px solid #fff;border-radius:4px;
padding:5px 9px;margin:0;cursor:pointer}
:focus-visible{outline:3px solid #3d8bfd!important;outline-offset:2px}
.notice{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);width:max-content;max-width:92%;
font-size:calc(var(--fs,14px)*1.4);padding:.4em .8em;border-radius:.3em;background:#111;color:#fff;
border:2px solid #fff;text-align:center}
.notice.possibly_synthetic{background:#ffd23f;color:#111;border:2px dashed #111}
.why{position:absolute;left:4px;right:4px;bottom:calc(var(--fs,14px)*2.2 + 8px);padding:.3em .6em;background:#a50021;
color:#fff;font-size:max(14px,calc(var(--fs,14px)*.8));text-align:center}
.cover{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;
gap:.5em;padding:1em;background:#000;color:#fff;text-align:center;pointer-events:auto}
.refute{position:absolute;left:0;right:0;bottom:0;padding:.3em .6em;background:#0a3a8c;color:#fff;
display:flex;flex-wrap:wrap;gap:.2em .8em;align-items:baseline}
.refute a,.cover a{color:#fff;font-size:14px}
.panel{position:absolute;left:4px;top:calc(var(--bt,0px) + var(--fs,14px)*1.6 + 14px);
max-width:min(26rem,calc(100% - 8px));max-height:max(12rem,calc(100% - var(--fs,14px)*1.6 - 18px));overflow:auto;
pointer-events:auto;background:#fff;color:#111;
font:400 14px/1.4 ${FONT};padding:8px 12px;border-radius:6px;border:1px solid #111;box-shadow:0 2px 10px #0008}
.panel h2{font-size:15px;margin:0 0 6px}
.panel dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 10px}
.panel dt{font-weight:700}.panel dd{margin:0;overflow-wrap:anywhere}
.panel a{color:#0645ad}
.audio .bar,.audio .notice,.audio .refute,.audio .cover,.audio .panel,.audio .why{position:static;transform:none;
max-width:none;max-height:none;width:auto;margin-top:4px}
.audio .notice{font-size:var(--fs,14px);text-align:start}
dialog{pointer-events:auto;font:400 16px/1.4 ${FONT};color:#111;background:#fff;border:0;border-radius:8px;padding:16px 20px;
width:min(32rem,94vw);max-height:94vh;overflow:auto;box-shadow:0 4px 30px #000a}
dialog::backdrop{background:#000a}
dialog h2{font-size:19px;margin:0 0 10px}
dialog label{display:block;font-weight:700;margin:10px 0 3px}
dialog select,dialog textarea,dialog input{font:inherit;width:100%;padding:6px;border:1px solid #555;border-radius:4px;
color:#111;background:#fff}
dialog textarea{min-height:5em;resize:vertical}
dialog label.check{display:flex;gap:6px;align-items:baseline;font-weight:400}
dialog label.check input{width:auto}
dialog .range{display:grid;grid-template-columns:auto 1fr auto 1fr;gap:4px 8px;align-items:center;margin-top:10px}
dialog .range span{grid-column:1/-1;font-weight:700}
dialog .range label{margin:0}
dialog fieldset.others{border:1px solid #ccc;border-radius:4px;margin:10px 0 0;max-height:8em;overflow:auto}
dialog .meta{font-size:14px;color:#333;margin:10px 0;overflow-wrap:anywhere}
dialog .meta div{margin:2px 0}
dialog .row{display:flex;gap:8px;justify-content:flex-end;margin-top:14px}
dialog .row button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #111;background:#fff;color:#111;
cursor:pointer}
dialog .row button[type=submit]{background:#111;color:#fff}
dialog .status{margin-top:10px;overflow-wrap:anywhere}
dialog .status a{color:#0645ad}
dialog .error{color:#a50021}
`;

export function applyStyles(root: ShadowRoot): void {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = CSS;
    root.append(style);
  }
}
