/**
 * A deterministic, labelled corpus for measuring PII redaction: N records of claim, credit-application,
 * hiring and request-log payloads (free text and structured JSON fields) with planted personal data of
 * every kind the detectors cover — each labelled with its kind, its path and its exact span — and
 * planted near-misses that must NOT be redacted: Luhn-failing card numbers with real issuer prefixes,
 * IBANs failing mod-97, SSNs with area 000/666/9xx, group 00 or serial 0000, 9-digit numbers with no
 * SSN keyword, BSNs failing the 11-test, NI numbers with unallocated prefixes, DNIs with the wrong
 * letter, dates, ISO timestamps, times, version strings, amounts, UUIDs, hashes, order and invoice
 * numbers, ZIP+4 codes, ISBNs, parcel tracking numbers, epoch timestamps, MAC addresses, coordinates
 * and out-of-range dotted quads.
 *
 * Seeded (sfc32), no Math.random: the same (records, seed) gives the same corpus.
 */
import { formatPath } from "../../src/audit/redaction.ts";
import { dniLetter, ibanMod97, IBAN_LENGTHS, luhnValid } from "../../src/audit/pii-detectors.ts";

export type PlantedKind = "email" | "phone" | "card" | "iban" | "ssn" | "national_id" | "ip";

export interface LabelledSpan {
  /** path of the string (or number) in the record's value, in the redaction path format */
  path: string;
  start: number;
  end: number;
}
export interface PlantedPii extends LabelledSpan {
  kind: PlantedKind;
}
export interface NearMiss extends LabelledSpan {
  /** what it is (date, luhn-failing card, …) */
  label: string;
}
export interface CorpusRecord {
  domain: "claim" | "credit" | "hiring" | "log";
  value: unknown;
  planted: PlantedPii[];
  nearMisses: NearMiss[];
}

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/** sfc32, seeded through splitmix32. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.float();
  }
  /** [0, 1) */
  float(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)];
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  digits(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
  chars(n: number, alphabet: string): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX = "0123456789abcdef";
const pad = (n: number, w: number) => String(n).padStart(w, "0");

// ---------------------------------------------------------------------------------------------
// Valid PII
// ---------------------------------------------------------------------------------------------

const FIRST = ["jane", "john", "maria", "ahmed", "li", "olga", "pierre", "sofia", "kwame", "anna", "lukas", "emma", "noah", "fatima", "carlos", "yuki", "oliver", "chloe", "ivan", "amara"];
const LAST = ["doe", "smith", "garcia", "khan", "wang", "petrova", "dubois", "rossi", "mensah", "berg", "müller", "o-brien", "nguyen", "jansen", "kowalski", "silva", "tanaka", "haddad", "novak", "okafor"];
const DOMAINS = ["example.com", "mail.example.org", "claims.insurer.example", "example.co.uk", "post.example.de", "corp-mail.example.net", "uni.example.edu", "example.fr", "hr.bigco.example.io"];

export function makeEmail(r: Rng): string {
  const f = r.pick(FIRST).replace("ü", "u");
  const l = r.pick(LAST).replace("ü", "ue");
  const local = r.pick([`${f}.${l}`, `${f[0]}${l}`, `${f}_${l}${r.int(1, 99)}`, `${f}+claims`, `${l}.${f}${r.int(1970, 2005)}`, `${f.toUpperCase()}.${l}`, `${f}-${l}`, `${f}%${l}`]);
  const dom = r.chance(0.2) ? r.pick(DOMAINS).toUpperCase() : r.pick(DOMAINS);
  return `${local}@${dom}`;
}

function nanpParts(r: Rng): [string, string, string] {
  return [`${r.int(2, 9)}${r.digits(2)}`, `${r.int(2, 9)}${r.digits(2)}`, r.digits(4)];
}

export function makePhone(r: Rng): string {
  const [a, e, l] = nanpParts(r);
  switch (r.int(0, 17)) {
    case 0: return `+1${a}${e}${l}`;
    case 1: return `(${a}) ${e}-${l}`;
    case 2: return `${a}-${e}-${l}`;
    case 3: return `${a}.${e}.${l}`;
    case 4: return `+1 (${a}) ${e}-${l}`;
    case 5: return `+1-${a}-${e}-${l}`;
    case 6: return `1-${a}-${e}-${l}`;
    case 7: return `+44 20 ${r.int(7000, 8999)} ${r.digits(4)}`;
    case 8: return r.pick([`+44 7${r.digits(3)} ${r.digits(6)}`, `+44 (0)20 ${r.int(7000, 8999)} ${r.digits(4)}`, `+44${r.int(1, 9)}${r.digits(9)}`]);
    case 9: return r.pick([`020 ${r.int(7000, 8999)} ${r.digits(4)}`, `07${r.digits(3)} ${r.digits(6)}`, `0161 ${r.int(200, 999)} ${r.digits(4)}`]);
    case 10: return `+49 ${r.int(30, 89)} ${r.digits(r.int(6, 8))}`;
    case 11: return r.pick([`+49 (0)${r.int(30, 89)} ${r.digits(7)}`, `+49 1${r.int(50, 79)} ${r.digits(8)}`, `+49-${r.int(30, 89)}-${r.digits(7)}`]);
    case 12: return `+33 ${r.int(1, 9)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`;
    case 13: { const sep = r.pick([" ", ".", "-"]); return `0${r.int(1, 9)}${sep}${r.digits(2)}${sep}${r.digits(2)}${sep}${r.digits(2)}${sep}${r.digits(2)}`; }
    case 14: return `+33 (0)${r.int(1, 9)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`;
    case 15: return r.pick([`${a} ${e} ${l}`, `(${a})${e}-${l}`, `1 (${a}) ${e}-${l}`, `+1.${a}.${e}.${l}`]);
    case 16: return r.pick([`0049 ${r.int(30, 89)} ${r.digits(7)}`, `0044 20 ${r.int(7000, 8999)} ${r.digits(4)}`, `0033 ${r.int(1, 9)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`, `001-${a}-${e}-${l}`]);
    default: return r.pick([`+44 (0) 20 ${r.int(7000, 8999)} ${r.digits(4)}`, `+49 ${r.int(30, 89)} ${r.digits(4)} ${r.digits(4)}`, `+33 (0)6 ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`, `+1 ${a} ${e} ${l}`]);
  }
}

/** National formats with the trunk 0 (DE, UK, NL, …), as people write them after `Tel.`. */
export function makeNationalPhone(r: Rng): string {
  return r.pick([`030 ${r.digits(6)}`, `(0${r.int(30, 89)}) ${r.digits(7)}`, `0${r.int(151, 179)} ${r.digits(8)}`, `0${r.int(30, 89)}/${r.digits(6)}`, `020-${r.digits(7)}`, `0${r.int(2000, 9999)} ${r.digits(6)}`]);
}

const CARD_SCHEMES: Array<{ prefix: (r: Rng) => string; len: number; format: "4s" | "amex" | "diners" }> = [
  { prefix: () => "4", len: 16, format: "4s" },
  { prefix: () => "4", len: 16, format: "4s" },
  { prefix: () => "4", len: 13, format: "4s" },
  { prefix: (r) => String(r.int(51, 55)), len: 16, format: "4s" },
  { prefix: (r) => String(r.int(2221, 2720)), len: 16, format: "4s" },
  { prefix: (r) => r.pick(["34", "37"]), len: 15, format: "amex" },
  { prefix: (r) => r.pick(["6011", "65", "644"]), len: 16, format: "4s" },
  { prefix: () => "36", len: 14, format: "diners" },
  { prefix: (r) => String(r.int(3528, 3589)), len: 16, format: "4s" },
  { prefix: () => "62", len: 16, format: "4s" },
];

function luhnComplete(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error("unreachable");
}

function formatCard(digits: string, format: "4s" | "amex" | "diners", r: Rng): string {
  const style = r.int(0, 2);
  if (style === 0) return digits;
  const sep = style === 1 ? " " : "-";
  if (format === "amex") return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep);
  if (format === "diners") return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep);
  return digits.match(/.{1,4}/g)!.join(sep);
}

function cardDigits(r: Rng, valid: boolean): { digits: string; format: "4s" | "amex" | "diners" } {
  const s = r.pick(CARD_SCHEMES);
  const p = s.prefix(r);
  const good = luhnComplete(p + r.digits(s.len - p.length - 1));
  if (valid) return { digits: good, format: s.format };
  const last = (+good[good.length - 1] + r.int(1, 9)) % 10;
  return { digits: good.slice(0, -1) + last, format: s.format };
}

export function makeCard(r: Rng): string {
  const c = cardDigits(r, true);
  return formatCard(c.digits, c.format, r);
}
/** A card number from a real issuer range with a wrong Luhn digit. */
export function makeLuhnFailingCard(r: Rng): string {
  const c = cardDigits(r, false);
  return formatCard(c.digits, c.format, r);
}

/** BBAN shapes: n = digits, a = upper-case letters, c = alphanumerics. */
const BBAN: Record<string, string> = {
  DE: "18n", GB: "4a14n", FR: "10n11c2n", NL: "4a10n", ES: "20n", IT: "1a10n12c", BE: "12n", CH: "5n12c", AT: "16n",
  PL: "24n", SE: "20n", NO: "11n", IE: "4a14n", PT: "21n", DK: "14n", FI: "14n", LU: "3n13c", MT: "4a5n18c", CZ: "20n", GR: "7n16c",
};

function bban(r: Rng, cc: string): string {
  let out = "";
  for (const [, n, t] of BBAN[cc].matchAll(/(\d+)([nac])/g)) out += t === "n" ? r.digits(+n) : r.chars(+n, t === "a" ? UPPER : ALNUM);
  if (out.length + 4 !== IBAN_LENGTHS[cc]) throw new Error(`BBAN table disagrees for ${cc}`);
  return out;
}

function ibanCompact(r: Rng, valid: boolean): string {
  const cc = r.pick(Object.keys(BBAN));
  const b = bban(r, cc);
  const check = 98 - ibanMod97(`${cc}00${b}`);
  let c = check;
  if (!valid) c = ((check - 2 + r.int(1, 96)) % 97) + 2; // another value in 2..98, never the right one
  if (!valid && c === check) c = check === 98 ? 2 : check + 1;
  return `${cc}${pad(c, 2)}${b}`;
}
const printIban = (iban: string) => iban.match(/.{1,4}/g)!.join(" ");

export function makeIban(r: Rng): string {
  const i = ibanCompact(r, true);
  return r.chance(0.5) ? i : printIban(i);
}
export function makeMod97FailingIban(r: Rng): string {
  const i = ibanCompact(r, false);
  return r.chance(0.5) ? i : printIban(i);
}

function ssnParts(r: Rng): [string, string, string] {
  let area = r.int(1, 899);
  if (area === 666) area = 665;
  return [pad(area, 3), pad(r.int(1, 99), 2), pad(r.int(1, 9999), 4)];
}
export function makeSsn(r: Rng): string {
  const [a, g, s] = ssnParts(r);
  return `${a}-${g}-${s}`;
}
export function makeInvalidSsn(r: Rng): string {
  const [a, g, s] = ssnParts(r);
  switch (r.int(0, 4)) {
    case 0: return `000-${g}-${s}`;
    case 1: return `666-${g}-${s}`;
    case 2: return `${r.int(900, 999)}-${g}-${s}`;
    case 3: return `${a}-00-${s}`;
    default: return `${a}-${g}-0000`;
  }
}

const NINO_A = "ABCEGHJKLMNOPRSTWXYZ";
const NINO_B = "ABCEGHJKLMNPRSTWXYZ";
export function makeNino(r: Rng): string {
  let p = "";
  do p = r.pick([...NINO_A]) + r.pick([...NINO_B]);
  while (["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].includes(p));
  const d = r.digits(6);
  const s = r.pick(["A", "B", "C", "D"]);
  return r.pick([`${p}${d}${s}`, `${p} ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4)} ${s}`, `${p} ${d} ${s}`]);
}
export function makeInvalidNino(r: Rng): string {
  const p = r.pick(["D", "F", "I", "Q", "U", "V"]) + r.pick([...NINO_B]);
  const bad = r.pick([p, "GB", "BG", "NK", "TN", "ZZ", "A" + r.pick(["D", "F", "I", "O", "V"])]);
  const d = r.digits(6);
  return r.pick([`${bad}${d}${r.pick(["A", "B", "C", "D"])}`, `${bad} ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4)} A`, `AB ${d} ${r.pick(["E", "F", "X"])}`]);
}
export function makeDni(r: Rng): string {
  if (r.chance(0.3)) {
    const x = r.int(0, 2);
    const d = r.digits(7);
    return `${"XYZ"[x]}${d}${dniLetter(`${x}${d}`)}`;
  }
  const d = r.digits(8);
  return r.chance(0.2) ? `${d}-${dniLetter(d)}` : `${d}${dniLetter(d)}`;
}
export function makeWrongLetterDni(r: Rng): string {
  const d = r.digits(8);
  const right = dniLetter(d);
  let l = r.pick([..."TRWAGMYFPDXBNJZSQVHLCKE"]);
  if (l === right) l = l === "T" ? "R" : "T";
  return `${d}${l}`;
}
const bsnSum = (d: string) => {
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * +d[i];
  return sum - +d[8];
};
export function makeBsn(r: Rng): string {
  for (;;) {
    const d = r.int(1, 9) + r.digits(7);
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += (9 - i) * +d[i];
    if (sum % 11 !== 10) return d + (sum % 11);
  }
}
/** 9 digits failing the 11-test. */
export function makeBadBsn(r: Rng): string {
  for (;;) {
    const d = r.int(1, 9) + r.digits(8);
    if (bsnSum(d) % 11 !== 0) return d;
  }
}

export function makeIp(r: Rng): string {
  const v4 = () => `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
  const g = () => r.int(0, 0xffff).toString(16);
  switch (r.int(0, 5)) {
    case 0:
    case 1:
    case 2: return v4();
    case 3: return Array.from({ length: 8 }, () => (r.chance(0.5) ? g().padStart(4, "0") : g())).join(":");
    case 4: return r.pick([`2001:db8::${g()}:${g()}`, `fe80::${g()}:${g()}:${g()}:${g()}`, `${g()}:${g()}:${g()}::${g()}`, `2a02:${g()}:${g()}::1`]);
    default: return r.pick([`::ffff:${v4()}`, `2001:db8:${g()}:${g()}::${g()}`, "::1"]);
  }
}

// ---------------------------------------------------------------------------------------------
// Near-misses (labelled; none of them is personal data of a kind the detectors look for)
// ---------------------------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export const NEAR_MISSES: Record<string, (r: Rng) => string> = {
  "luhn-failing card": makeLuhnFailingCard,
  "mod-97-failing iban": makeMod97FailingIban,
  "invalid ssn": makeInvalidSsn,
  date: (r) => {
    const y = r.int(1990, 2030);
    const m = r.int(1, 12);
    const d = r.int(1, 28);
    return r.pick([`${y}-${pad(m, 2)}-${pad(d, 2)}`, `${pad(d, 2)}/${pad(m, 2)}/${y}`, `${pad(d, 2)}.${pad(m, 2)}.${y}`, `${MONTHS[m - 1]} ${d}, ${y}`, `${y}/${pad(m, 2)}/${pad(d, 2)}`, `${y}${pad(m, 2)}${pad(d, 2)}`]);
  },
  timestamp: (r) => {
    const base = `${r.int(2015, 2030)}-${pad(r.int(1, 12), 2)}-${pad(r.int(1, 28), 2)}T${pad(r.int(0, 23), 2)}:${pad(r.int(0, 59), 2)}:${pad(r.int(0, 59), 2)}`;
    return r.pick([`${base}Z`, `${base}.${r.digits(3)}Z`, `${base}+0${r.int(1, 9)}:00`, `${base}-05:00`, `${base.replace("T", " ")}`]);
  },
  time: (r) => `${pad(r.int(0, 23), 2)}:${pad(r.int(0, 59), 2)}${r.chance(0.5) ? `:${pad(r.int(0, 59), 2)}` : ""}`,
  "epoch ms": (r) => String(r.int(1_500_000_000, 1_900_000_000) * 1000 + r.int(0, 999)),
  version: (r) => {
    const v = () => r.int(0, 20);
    return r.pick([`${v()}.${v()}.${v()}`, `v${v()}.${v()}.${v()}.${v()}`, `version ${v()}.${v()}.${v()}.${v()}`, `${v()}.${v()}.${v()}.${v()}.${v()}`, `10.0.${r.int(10000, 22631)}.${r.int(1, 4000)}`, `build ${v()}.${v()}.${v()}.${v()}`]);
  },
  amount: (r) => {
    const n = r.int(1, 9_999_999);
    const c = pad(r.int(0, 99), 2);
    return r.pick([`$${n.toLocaleString("en-US")}.${c}`, `EUR ${n.toLocaleString("en-US").replaceAll(",", " ")},${c}`, `${n.toLocaleString("en-US").replaceAll(",", ".")},${c} €`, `+${r.int(1, 999)}.${c}`, `-${n.toLocaleString("en-US")}.${c}`, `£${r.int(1, 99_999)}`, `${n}.${c} USD`]);
  },
  uuid: (r) => `${r.chars(8, HEX)}-${r.chars(4, HEX)}-4${r.chars(3, HEX)}-${r.pick(["8", "9", "a", "b"])}${r.chars(3, HEX)}-${r.chars(12, HEX)}`,
  hash: (r) => r.pick([r.chars(64, HEX), r.chars(40, HEX), r.chars(32, HEX), r.chars(7, HEX), `sha256:${r.chars(64, HEX)}`]),
  "order number": (r) => r.pick([`ORD-${r.int(2019, 2026)}-${r.digits(6)}`, `PO-45${r.digits(8)}`, `INV/${r.int(2019, 2026)}/${r.digits(5)}`, `#A-${r.digits(5)}`, `CLM-${r.digits(3)}-${r.digits(3)}-${r.digits(4)}`, `SO${r.digits(10)}`]),
  "9-digit reference without keyword": (r) => r.int(100_000_000, 999_999_999).toString(),
  "10-digit policy number": (r) => `${r.int(1, 9)}${r.digits(9)}`,
  "invalid NANP number": (r) => `${r.pick(["0", "1"])}${r.digits(2)}-${r.int(2, 9)}${r.digits(2)}-${r.digits(4)}`,
  "zip+4": (r) => `${r.digits(5)}-${r.digits(4)}`,
  isbn: (r) => `978-${r.int(0, 9)}-${r.digits(2)}-${r.digits(6)}-${r.int(0, 9)}`,
  "parcel tracking number": (r) => r.pick([`94${r.digits(20)}`, `1Z${r.chars(6, ALNUM)}${r.digits(10)}`, `9400 ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(4)} ${r.digits(2)}`]),
  "mac address": (r) => Array.from({ length: 6 }, () => r.chars(2, "0123456789ABCDEF")).join(r.pick([":", "-"])),
  coordinates: (r) => `${r.int(-89, 89)}.${r.digits(4)}, ${r.int(-179, 179)}.${r.digits(4)}`,
  "out-of-range dotted quad": (r) => `${r.int(256, 999)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)}`,
  "cve id": (r) => `CVE-${r.int(2015, 2026)}-${r.int(1000, 99999)}`,
  "bsn failing 11-test": (r) => `BSN ${makeBadBsn(r)}`,
  "unallocated NI prefix": makeInvalidNino,
  "dni with wrong letter": makeWrongLetterDni,
  "@handle": (r) => r.pick([`@${r.pick(FIRST)}${r.int(1, 99)}`, `@scope/${r.pick(LAST)}-utils`, `${r.int(2, 9)} @ $${r.int(1, 20)}.00`]),
  "long numeric id": (r) => `${r.int(1, 9)}${r.digits(r.int(20, 30))}`,
  /** 15 digits with a Luhn check digit, but a type allocation code, not a card issuer range */
  imei: (r) => `IMEI ${luhnComplete(r.pick(["35", "86", "01", "99"]) + r.digits(12))}`,
  "vat id": (r) => r.pick([`DE${r.int(1, 9)}${r.digits(8)}`, `GB${r.int(1, 9)}${r.digits(8)}`, `FR${r.digits(2)}${r.digits(9)}`, `NL${r.digits(9)}B01`, `ESX${r.digits(7)}`]),
  "key fingerprint": (r) => Array.from({ length: 16 }, () => r.chars(2, HEX)).join(":"),
  duration: (r) => `P${r.int(1, 30)}DT${r.int(1, 23)}H${r.int(1, 59)}M`,
  "masked card": (r) => r.pick([`**** **** **** ${r.digits(4)}`, `4111 11** **** ${r.digits(4)}`, `XXXX-XXXX-XXXX-${r.digits(4)}`]),
  "utc offset": (r) => `UTC+${pad(r.int(0, 14), 2)}:${r.pick(["00", "30", "45"])}`,
};
const NEAR_MISS_LABELS = Object.keys(NEAR_MISSES);

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

type Seg = string | number;

class RecordBuilder {
  planted: PlantedPii[] = [];
  nearMisses: NearMiss[] = [];
  readonly r: Rng;
  constructor(r: Rng) {
    this.r = r;
  }

  /** A string field assembled from text, planted PII and near-misses. */
  text(path: Seg[], build: (t: TextBuilder) => void): string {
    const t = new TextBuilder(this.r);
    build(t);
    const p = formatPath(path);
    for (const s of t.planted) this.planted.push({ ...s, path: p });
    for (const s of t.misses) this.nearMisses.push({ ...s, path: p });
    return t.out;
  }
  /** A field whose whole string value is PII. */
  pii(path: Seg[], kind: PlantedKind, value: string): string {
    this.planted.push({ kind, path: formatPath(path), start: 0, end: value.length });
    return value;
  }
  miss(path: Seg[], label: string, value: string): string {
    this.nearMisses.push({ label, path: formatPath(path), start: 0, end: value.length });
    return value;
  }
  /** A JSON number: PII (a card number, an SSN under an `ssn` key) or a near-miss. */
  num(path: Seg[], n: number, kind: PlantedKind | null, label = "number"): number {
    const span = { path: formatPath(path), start: 0, end: String(n).length };
    if (kind) this.planted.push({ ...span, kind });
    else this.nearMisses.push({ ...span, label });
    return n;
  }
}

class TextBuilder {
  out = "";
  planted: Array<{ kind: PlantedKind; start: number; end: number }> = [];
  misses: Array<{ label: string; start: number; end: number }> = [];
  readonly r: Rng;
  constructor(r: Rng) {
    this.r = r;
  }
  t(s: string): this {
    this.out += s;
    return this;
  }
  pii(kind: PlantedKind, value: string): this {
    this.planted.push({ kind, start: this.out.length, end: this.out.length + value.length });
    this.out += value;
    return this;
  }
  miss(label: string, value?: string): this {
    const v = value ?? NEAR_MISSES[label](this.r);
    this.misses.push({ label, start: this.out.length, end: this.out.length + v.length });
    this.out += v;
    return this;
  }
  /** a random near-miss */
  anyMiss(): this {
    return this.miss(this.r.pick(NEAR_MISS_LABELS));
  }
}

const KIND_MAKERS: Record<PlantedKind, (r: Rng) => string> = {
  email: makeEmail,
  phone: makePhone,
  card: makeCard,
  iban: makeIban,
  ssn: makeSsn,
  national_id: (r) => (r.chance(0.5) ? makeNino(r) : makeDni(r)),
  ip: makeIp,
};

const name = (r: Rng) => {
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  return `${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}`;
};

/** Free-text sentences: each plants PII and/or near-misses in realistic wording. */
const SENTENCES: Array<(t: TextBuilder, r: Rng) => void> = [
  (t, r) => t.t(`Claimant ${name(r)} can be reached at `).pii("email", makeEmail(r)).t(" or ").pii("phone", makePhone(r)).t(". "),
  (t, r) => t.t("Please refund the excess to IBAN ").pii("iban", makeIban(r)).t(" by ").miss("date").t(". "),
  (t, r) => t.t("Payment was made with card ").pii("card", makeCard(r)).t(" on ").miss("date").t(" for ").miss("amount").t(". "),
  (t) => t.t("The card number ").miss("luhn-failing card").t(" was declined by the processor. "),
  (t) => t.t("A transfer to ").miss("mod-97-failing iban").t(" bounced (invalid account). "),
  (t, r) => t.t("Her SSN is ").pii("ssn", makeSsn(r)).t("; our reference ").miss("order number").t(". "),
  (t, r) => t.t(r.pick(["SSN: ", "Social Security Number: ", "ssn # ", "SSN no. "])).pii("ssn", makeSsn(r).replaceAll("-", r.pick(["", " "]))).t(r.pick([". ", "\n", "; "])),
  (t) => t.t("The SSN on the form (").miss("invalid ssn").t(") does not validate. "),
  (t, r) => t.t("Submitted from ").pii("ip", makeIp(r)).t(" using app ").miss("version").t(" at ").miss("timestamp").t(". "),
  (t) => t.t("Claim ").miss("9-digit reference without keyword").t(" opened ").miss("date").t(", incident at ").miss("time").t(". "),
  (t) => t.t("Document hash ").miss("hash").t(", upload id ").miss("uuid").t(". "),
  (t, r) => t.t("NI number ").pii("national_id", makeNino(r)).t(r.pick([", DNI ", " and Spanish id "])).pii("national_id", makeDni(r)).t(". "),
  (t) => t.t("Policy ").miss("10-digit policy number").t(" was renewed for ").miss("amount").t(". "),
  (t) => t.t("Device build ").miss("version").t(", tracking ").miss("parcel tracking number").t(". "),
  (t, r) => t.t("Contact the adjuster on ").pii("phone", makePhone(r)).t(" (ext. ").t(String(r.int(10, 999))).t(") or at ").pii("email", makeEmail(r)).t(".\n"),
  (t) => t.t("Geo ").miss("coordinates").t("; router MAC ").miss("mac address").t(". "),
  (t, r) => t.t(r.pick(["BSN ", "burgerservicenummer: ", "BSN: "])).pii("national_id", makeBsn(r)).t(". "),
  (t) => t.t("The ").miss("bsn failing 11-test").t(" was rejected by the registry. "),
  (t) => t.t("Rejected NI ").miss("unallocated NI prefix").t(" and DNI ").miss("dni with wrong letter").t(". "),
  (t) => t.t("Ship to ZIP ").miss("zip+4").t(", manual ISBN ").miss("isbn").t(". "),
  (t) => t.t("Ticket ").miss("invalid NANP number").t(" was merged into ").miss("cve id").t(". "),
  (t, r) => {
    // one time in four with no phone keyword: a national format the detectors do not know on their own (counted, expected to be missed)
    if (r.chance(0.25)) t.t(r.pick(["Büro ", "Zentrale ", "Standort Berlin "])).pii("phone", makeNationalPhone(r)).t(" (Mo–Fr). ");
    else t.t(r.pick(["Tel. ", "Telefon: ", "mobile ", "Phone: ", "call him on ", "Fax no. "])).pii("phone", makeNationalPhone(r)).t(r.pick([". ", ", thanks. ", "\n"]));
  },
  (t) => t.t("Ping from ").miss("out-of-range dotted quad").t(" ignored; ").miss("@handle").t(" commented at ").miss("epoch ms").t(". "),
  (t, r) => t.t("Card on file ending ").t(r.digits(4)).t(", full number ").pii("card", makeCard(r)).t(", expires ").t(`${pad(r.int(1, 12), 2)}/${r.int(26, 33)}`).t(". "),
  (t, r) => t.t(`${name(r)} <`).pii("email", makeEmail(r)).t(">, tel. ").pii("phone", makePhone(r)).t(", IP ").pii("ip", makeIp(r)).t(".\n"),
  (t, r) => t.t("Wire ").miss("amount").t(" from ").pii("iban", makeIban(r)).t(" ref ").miss("order number").t(". "),
  (t) => t.t("Ledger line ").miss("long numeric id").t(" reconciled. "),
  (t) => t.t("Upgraded ").miss("version").t(" -> ").miss("version").t(" on ").miss("timestamp").t(". "),
  (t) => t.t("Replacement phone ").miss("imei").t(", seller ").miss("vat id").t(". "),
  (t) => t.t("Host key ").miss("key fingerprint").t(" accepted after ").miss("duration").t(". "),
  (t) => t.t("Customer quoted ").miss("masked card").t(" from ").miss("utc offset").t(". "),
  (t, r) => t.t("Reply to <mailto:").pii("email", makeEmail(r)).t("?subject=claim>, or http://").pii("ip", `${r.int(11, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`).t(":8080/claims. "),
  (t, r) => t.t("Server [").pii("ip", `2001:db8::${r.int(1, 0xffff).toString(16)}`).t("]:443 and ").pii("ip", `10.${r.int(0, 255)}.${r.int(0, 255)}.0`).t("/24. "),
];

function paragraph(t: TextBuilder, r: Rng, sentences: number): void {
  for (let i = 0; i < sentences; i++) r.pick(SENTENCES)(t, r);
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

function claimRecord(r: Rng): CorpusRecord {
  const b = new RecordBuilder(r);
  const value = {
    claimId: b.miss(["claimId"], "order number", NEAR_MISSES["order number"](r)),
    openedAt: b.miss(["openedAt"], "timestamp", NEAR_MISSES.timestamp(r)),
    input: {
      claimant: {
        name: name(r),
        email: b.pii(["input", "claimant", "email"], "email", makeEmail(r)),
        phones: [b.pii(["input", "claimant", "phones", 0], "phone", makePhone(r)), b.pii(["input", "claimant", "phones", 1], "phone", makePhone(r))],
        dob: b.miss(["input", "claimant", "dob"], "date", NEAR_MISSES.date(r)),
      },
      description: b.text(["input", "description"], (t) => paragraph(t, r, r.int(2, 5))),
      amount: r.int(100, 250_000) + r.int(0, 99) / 100,
      attachments: [{ sha256: b.miss(["input", "attachments", 0, "sha256"], "hash", r.chars(64, HEX)), id: b.miss(["input", "attachments", 0, "id"], "uuid", NEAR_MISSES.uuid(r)) }],
    },
    payout: { iban: b.pii(["payout", "iban"], "iban", makeIban(r)) },
  };
  return { domain: "claim", value, planted: b.planted, nearMisses: b.nearMisses };
}

function creditRecord(r: Rng): CorpusRecord {
  const b = new RecordBuilder(r);
  let area = r.int(100, 899);
  if (area === 666) area = 667;
  const ssnNumber = area * 1_000_000 + r.int(1, 99) * 10_000 + r.int(1, 9999);
  const cardNum = (() => {
    for (;;) {
      const c = cardDigits(r, true).digits;
      if (c.length <= 16 && Number.isSafeInteger(+c)) return +c;
    }
  })();
  const value = {
    applicationId: b.miss(["applicationId"], "uuid", NEAR_MISSES.uuid(r)),
    applicant: {
      name: name(r),
      ssn: r.chance(0.5) ? b.num(["applicant", "ssn"], ssnNumber, "ssn") : b.pii(["applicant", "ssn"], "ssn", r.chance(0.5) ? makeSsn(r) : makeSsn(r).replaceAll("-", "")),
      email: b.pii(["applicant", "email"], "email", makeEmail(r)),
      mobile: b.pii(["applicant", "mobile"], "phone", makePhone(r)),
      homePhone: b.pii(["applicant", "homePhone"], "phone", r.pick([makeNationalPhone(r), `${r.int(2, 9)}${r.digits(9)}`, `0${r.int(7000, 7999)}${r.digits(6)}`])),
      income: r.int(20_000, 400_000),
      employerRef: b.num(["applicant", "employerRef"], r.int(100_000_000, 999_999_999), null, "9-digit reference without keyword"),
    },
    payment: {
      cardNumber: r.chance(0.5) ? b.num(["payment", "cardNumber"], cardNum, "card") : b.pii(["payment", "cardNumber"], "card", makeCard(r)),
      previousCard: b.miss(["payment", "previousCard"], "luhn-failing card", makeLuhnFailingCard(r)),
      iban: b.pii(["payment", "iban"], "iban", makeIban(r)),
      rejectedIban: b.miss(["payment", "rejectedIban"], "mod-97-failing iban", makeMod97FailingIban(r)),
      requestedAt: b.num(["payment", "requestedAt"], r.int(1_500_000_000, 1_900_000_000) * 1000 + r.int(0, 999), null, "epoch ms"),
    },
    device: {
      ip: b.pii(["device", "ip"], "ip", makeIp(r)),
      userAgent: b.text(["device", "userAgent"], (t) => t.t("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/").miss("version", `${r.int(100, 130)}.0.${r.int(1000, 6999)}.${r.int(10, 200)}`).t(" Safari/537.36")),
    },
    notes: b.text(["notes"], (t) => paragraph(t, r, r.int(1, 4))),
  };
  return { domain: "credit", value, planted: b.planted, nearMisses: b.nearMisses };
}

function hiringRecord(r: Rng): CorpusRecord {
  const b = new RecordBuilder(r);
  const kinds = Object.keys(KIND_MAKERS) as PlantedKind[];
  const extra = r.pick(kinds);
  const value = {
    candidate: {
      name: name(r),
      contact: { email: b.pii(["candidate", "contact", "email"], "email", makeEmail(r)), "phone number": b.pii(["candidate", "contact", "phone number"], "phone", makePhone(r)) },
      nationalId: b.pii(["candidate", "nationalId"], "national_id", r.chance(0.5) ? makeNino(r) : makeDni(r)),
      bsn: b.pii(["candidate", "bsn"], "national_id", makeBsn(r)),
    },
    cv: b.text(["cv"], (t) => {
      t.t(`${name(r)} — senior adjuster, 2016–2024. Certified ISO 27001 (`).miss("date").t("). ");
      paragraph(t, r, r.int(2, 4));
      t.t("Also reachable via ").pii(extra, KIND_MAKERS[extra](r)).t(".");
    }),
    interviews: Array.from({ length: r.int(1, 3) }, (_, i) => ({
      at: b.miss(["interviews", i, "at"], "timestamp", NEAR_MISSES.timestamp(r)),
      notes: b.text(["interviews", i, "notes"], (t) => paragraph(t, r, r.int(1, 2))),
    })),
  };
  return { domain: "hiring", value, planted: b.planted, nearMisses: b.nearMisses };
}

function logRecord(r: Rng): CorpusRecord {
  const b = new RecordBuilder(r);
  const lines = Array.from({ length: r.int(3, 8) }, (_, i) =>
    b.text(["lines", i], (t) => {
      t.miss("timestamp").t(" INFO ");
      switch (r.int(0, 4)) {
        case 0: t.t("GET /api/claims/").miss("uuid").t(" from ").pii("ip", makeIp(r)).t(` ${r.pick([200, 404, 500])} ${r.int(1, 900)}ms`); break;
        case 1: t.t("login ").pii("email", makeEmail(r)).t(" via ").pii("ip", makeIp(r)).t(" agent ").miss("version"); break;
        case 2: t.t("job ").miss("hash").t(" finished in ").miss("time").t(", build ").miss("version"); break;
        case 3: t.t("sms sent to ").pii("phone", makePhone(r)).t(" trace ").miss("hash"); break;
        default: t.t("payout ").miss("amount").t(" to ").pii("iban", makeIban(r)).t(" order ").miss("order number"); break;
      }
    }),
  );
  return { domain: "log", value: { service: "claims-api", lines }, planted: b.planted, nearMisses: b.nearMisses };
}

const RECORD_MAKERS = [claimRecord, creditRecord, hiringRecord, logRecord];

/** `records` records, deterministic for a given seed. */
export function generateCorpus(records: number, seed = 0x5eed): CorpusRecord[] {
  const r = new Rng(seed);
  return Array.from({ length: records }, (_, i) => RECORD_MAKERS[i % RECORD_MAKERS.length](r));
}
