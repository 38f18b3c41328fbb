/** Durations as workflow authors write them: "500ms", "30s", "4h", "3d", or compound "1h30m". */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/;

export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 30s, 4h, 3d, 1h30m)`);
  let total = 0;
  for (const [, n, unit] of text.matchAll(PART)) total += Number(n) * UNIT_MS[unit];
  return Math.round(total);
}
