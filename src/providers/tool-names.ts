/**
 * Provider function names must match ^[a-zA-Z0-9_-]{1,64}$; Warden tool names such as
 * claims.lookup or crm/search are encoded reversibly (each other character as _x<hex>_).
 */
export function functionName(tool: string): string {
  return tool.replace(/[^a-zA-Z0-9_-]/g, (ch) => `_x${ch.charCodeAt(0).toString(16)}_`);
}

export function toolNameMap(tools: readonly string[]): Map<string, string> {
  return new Map(tools.map((t) => [functionName(t), t]));
}

export function parseToolArguments(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { _unparsed: raw };
  }
}
