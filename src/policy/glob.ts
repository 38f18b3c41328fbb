/** Glob patterns over tool, model and host names: `*` matches any run of characters. Compiled once. */
const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`);
    cache.set(pattern, re);
  }
  return re;
}

export function matchesAny(name: string, patterns: readonly string[]): string | null {
  for (const p of patterns) if (globToRegExp(p).test(name)) return p;
  return null;
}

/** Hosts: exact (case-insensitive) or `*.example.com` for any subdomain. */
export function hostAllowed(host: string, allow: readonly string[]): string | null {
  const h = host.toLowerCase();
  for (const p of allow) {
    const q = p.toLowerCase();
    if (q.startsWith("*.") ? h.endsWith(q.slice(1)) && h.length > q.length - 1 : h === q) return p;
  }
  return null;
}

/** One pattern list as a single RegExp, compiled once per list. */
const lists = new WeakMap<readonly string[], RegExp>();

/** Whether any pattern matches (`matchesAny` says which; this is the test on the hot path). */
const LIST_RE = Symbol("pattern list RegExp");

export function anyMatches(name: string, patterns: readonly string[]): boolean {
  let re = (patterns as { [LIST_RE]?: RegExp })[LIST_RE] ?? lists.get(patterns);
  if (!re) {
    re = patterns.length ? new RegExp(patterns.map((p) => `(?:${globToRegExp(p).source})`).join("|")) : /(?!)/;
    lists.set(patterns, re);
    if (Object.isExtensible(patterns)) Object.defineProperty(patterns, LIST_RE, { value: re });
  }
  return re.test(name);
}
