/**
 * The audio prompt before labelled audio plays: GB 45438-2025's rhythm 短长 短短, the Morse "A I"
 * (·— ··) the service also puts in front of signed audio (backend/signing/explicit_audio.py): a 1 kHz
 * tone, a unit of 120 ms, a dot one unit, a dash three, one unit between marks, three between letters.
 */

const UNIT = 0.12;
const TONE_HZ = 1000;
const LEVEL = 0.3;
const RAMP = 0.005;
/** Seconds from the start of each mark, and its length: dot, dash | dot, dot. */
export const PROMPT_MARKS: readonly (readonly [number, number])[] = [
  [0, UNIT], [2 * UNIT, 3 * UNIT], [8 * UNIT, UNIT], [10 * UNIT, UNIT],
];
/** The prompt's length with the pause before the content. */
export const PROMPT_SECONDS = 15 * UNIT;

/** Schedules the prompt on any audio context (a live one, or an OfflineAudioContext to render it). */
export function schedulePrompt(ctx: BaseAudioContext, at = ctx.currentTime): void {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = TONE_HZ;
  gain.gain.setValueAtTime(0, at);
  for (const [start, length] of PROMPT_MARKS) {
    const on = at + start;
    gain.gain.setValueAtTime(0, on);
    gain.gain.linearRampToValueAtTime(LEVEL, on + RAMP);
    gain.gain.setValueAtTime(LEVEL, on + length - RAMP);
    gain.gain.linearRampToValueAtTime(0, on + length);
  }
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + PROMPT_SECONDS);
}

/** Plays the prompt on the page's audio output; resolves once it has ended (at once without Web Audio). */
export function playPrompt(): Promise<void> {
  const Ctx = window.AudioContext;
  if (!Ctx) return Promise.resolve();
  const ctx = new Ctx();
  schedulePrompt(ctx);
  return new Promise((resolve) =>
    window.setTimeout(() => void ctx.close().finally(resolve), PROMPT_SECONDS * 1000 + 50));
}
