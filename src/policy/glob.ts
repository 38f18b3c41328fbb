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
