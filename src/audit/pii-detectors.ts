/**
 * PII detectors for the audit trail: find the spans of personal data in a string (emails, phone
 * numbers, payment cards, IBANs, US SSNs, national ids, IP addresses), each validated beyond its
 * shape where a check exists (Luhn and issuer ranges for cards, ISO 13616 mod-97 and country length
 * for IBANs, allocation rules for SSNs and NI numbers, check letters and the 11-test for DNI/NIE and
 * BSN, octet ranges for IPv4).
 *
 * Pure, synchronous and linear in the input: every regex is compiled once, has bounded quantifiers
 * or unambiguous repetition (no nested `+`), and the boundary checks that would need unbounded
 * look-around are done in code on the match. Strings with no digit and no `@` are never scanned.
 *
 * What is deliberately not detected (the false positives would outnumber the finds):
 *  - phone numbers written as bare digit runs without `+` (`4155552671`) and national formats
 *    other than NANP (US/CA), UK and French ones (`030 901820`), unless they follow a phone keyword
 *    (`tel.`, `phone:`, `call`, …) or are the whole value of a field named like a phone;
 *  - 9-digit SSNs and BSNs not right after a keyword (`SSN`, `social security number:`, `BSN`, …;
 *    only `number`/`no`/`#`, punctuation and `is` may stand between) nor in a field with such a key;
 *  - card numbers whose issuer prefix and length match no card scheme (Luhn alone passes one
 *    random number in ten);
 *  - dotted quads right after `version`, `build`, `release`, `section`, … (version numbers);
 *  - IPv6 addresses with no decimal digit at all (`abcd::ef`), IPv6 zone ids.
 */

export const PII_DETECTOR_KINDS = ["email", "phone", "card", "iban", "ssn", "national_id", "ip"] as const;
export type PiiKind = (typeof PII_DETECTOR_KINDS)[number];

/** A detected span: `text.slice(start, end)` is the personal data. */
export interface PiiSpan {
  kind: PiiKind;
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Character classes (by code unit; faster than a regex per character)
// ---------------------------------------------------------------------------------------------

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number) => isDigit(c) || isAlpha(c);
/** `\w` */
const isWord = (c: number) => isAlnum(c) || c === 95;
const DOT = 46;
const DASH = 45;
const SLASH = 47;
const SPACE = 32;
const isJoiner = (c: number) => c === DOT || c === DASH || c === SLASH;

/**
 * The end of a numeric token is clean: not followed by a word character, nor by `.`, `-` or `/` and
 * then an alphanumeric (which would make it part of a longer token such as `1.2.3.4.5`, `2671-02` or
 * a decimal `…1111.50`). `groupSep`, when given, also rejects that separator followed by a digit
 * (another group of the same grouped number).
 */
function cleanEnd(s: string, end: number, groupSep = -1): boolean {
  if (end >= s.length) return true;
  const c = s.charCodeAt(end);
  if (isWord(c)) return false;
  const n = end + 1 < s.length ? s.charCodeAt(end + 1) : -1;
  if (isJoiner(c) && isAlnum(n)) return false;
  if (c === groupSep && isDigit(n)) return false;
  return true;
}

/** The start of a numeric token is clean (the mirror image of `cleanEnd`). */
function cleanStart(s: string, start: number, groupSep = -1): boolean {
  if (start === 0) return true;
  const c = s.charCodeAt(start - 1);
  if (isWord(c)) return false;
  const p = start >= 2 ? s.charCodeAt(start - 2) : -1;
  if (isJoiner(c) && isAlnum(p)) return false;
  if (c === groupSep && isDigit(p)) return false;
  return true;
}

function digitsOf(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) out += s[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checksums and allocation rules (exported for the tests and the corpus generator)
// ---------------------------------------------------------------------------------------------

/** Luhn (mod 10) over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** The issuer ranges and lengths of the card schemes in use (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir). */
export function cardSchemeValid(d: string): boolean {
  const n = d.length;
  if (n < 12 || n > 19) return false;
  const p2 = +d.slice(0, 2);
  const p3 = +d.slice(0, 3);
  const p4 = +d.slice(0, 4);
  if (d[0] === "4") return n === 13 || n === 16 || n === 19; // Visa
  if (p2 >= 51 && p2 <= 55) return n === 16; // Mastercard
  if (p4 >= 2221 && p4 <= 2720) return n === 16; // Mastercard 2-series
  if (p4 >= 2200 && p4 <= 2204) return n >= 16; // Mir
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 >= 3528 && p4 <= 3589) return n >= 16; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305)) return n >= 14; // Diners
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) return n >= 16; // Discover
  if (p2 === 62) return n >= 16; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12; // Maestro
  return false;
}

/** A payment card number: 13–19 digits, a known scheme's issuer range and length, and Luhn. */
export function cardValid(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && cardSchemeValid(digits) && luhnValid(digits);
}

/** IBAN lengths by country (ISO 13616 registry), for the countries in common use. */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, JO: 30,
  KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27,
  MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24,
  SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VG: 24, XK: 20,
};

/** ISO 7064 mod 97-10 of an IBAN (compact, upper case): the check is valid when it is 1. */
export function ibanMod97(iban: string): number {
  let rem = 0;
  const n = iban.length;
  for (let k = 0; k < n; k++) {
    const c = iban.charCodeAt((k + 4) % n);
    if (isDigit(c)) rem = (rem * 10 + (c - 48)) % 97;
    else rem = (rem * 100 + (c - 55)) % 97; // A = 10 … Z = 35
  }
  return rem;
}

/** A compact, upper-case IBAN: a known country, its length, check digits 02–98 and mod-97 = 1. */
export function ibanValid(iban: string): boolean {
  const len = IBAN_LENGTHS[iban.slice(0, 2)];
  if (len === undefined || iban.length !== len) return false;
  const check = +iban.slice(2, 4);
  if (!(check >= 2 && check <= 98)) return false;
  for (let i = 4; i < iban.length; i++) if (!isAlnum(iban.charCodeAt(i))) return false;
  return ibanMod97(iban) === 1;
}

/** US SSN allocation rules: area not 000, 666 or 900–999; group not 00; serial not 0000. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = +area;
  return a !== 0 && a !== 666 && a < 900 && group !== "00" && serial !== "0000";
}

const NINO_FIRST_BAD = "DFIQUV";
const NINO_SECOND_BAD = "DFIOQUV";
const NINO_PREFIX_BAD = new Set(["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]);
/**
 * UK National Insurance number prefix rules (first letter not D F I Q U V, second not D F I O Q U V,
 * not BG GB KN NK NT TN ZZ). `QQ`, HMRC's specimen prefix, is accepted so that specimen numbers in
 * documents are redacted too.
 */
export function ninoPrefixValid(prefix: string): boolean {
  if (prefix === "QQ") return true;
  return !NINO_FIRST_BAD.includes(prefix[0]) && !NINO_SECOND_BAD.includes(prefix[1]) && !NINO_PREFIX_BAD.has(prefix);
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";
/** The check letter of a Spanish DNI number (8 digits) or NIE (X/Y/Z → 0/1/2, then 7 digits). */
export function dniLetter(digits: string): string {
  return DNI_LETTERS[+digits % 23];
}

/** The Dutch BSN 11-test: 9×d1 + 8×d2 + … + 2×d8 − d9 ≡ 0 (mod 11). */
export function bsnValid(d: string): boolean {
  if (d.length !== 9 || d === "000000000") return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (d.charCodeAt(i) - 48);
  sum -= d.charCodeAt(8) - 48;
  return sum % 11 === 0;
}

// ---------------------------------------------------------------------------------------------
// Detectors. Each pushes spans onto `out`; the caller resolves overlaps.
// ---------------------------------------------------------------------------------------------

const isLocalChar = (c: number) => isAlnum(c) || c === DOT || c === 95 || c === 37 || c === 43 || c === DASH; // . _ % + -
const isDomainChar = (c: number) => isAlnum(c) || c === DOT || c === DASH;

function detectEmails(s: string, out: PiiSpan[]): void {
  let at = s.indexOf("@");
  while (at !== -1) {
    let start = at;
    while (start > 0 && at - start < 64 && isLocalChar(s.charCodeAt(start - 1))) start--;
    while (start < at && s.charCodeAt(start) === DOT) start++;
    let end = at + 1;
    while (end < s.length && end - at <= 253 && isDomainChar(s.charCodeAt(end))) end++;
    while (end > at + 1 && (s.charCodeAt(end - 1) === DOT || s.charCodeAt(end - 1) === DASH)) end--;
    if (start < at && end > at + 1 && domainValid(s, at + 1, end)) {
      out.push({ kind: "email", start, end });
      at = s.indexOf("@", end);
    } else {
      at = s.indexOf("@", at + 1);
    }
  }
}

/** Labels of 1–63 letters, digits and inner hyphens, at least two of them, the last 2+ letters. */
function domainValid(s: string, from: number, to: number): boolean {
  let labels = 0;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || s.charCodeAt(i) === DOT) {
      const len = i - labelStart;
      if (len < 1 || len > 63) return false;
      if (s.charCodeAt(labelStart) === DASH || s.charCodeAt(i - 1) === DASH) return false;
      labels++;
      if (i === to) {
        if (len < 2) return false;
        for (let k = labelStart; k < i; k++) if (!isAlpha(s.charCodeAt(k))) return false;
      }
      labelStart = i + 1;
    }
  }
  return labels >= 2;
}

// Phones ------------------------------------------------------------------------------------

/** `+` (or the `00` international prefix), a country code and groups separated by one space, dot or dash, or a parenthesised group (`(0)`, `(415)`). */
const INTL_PHONE_RE = /(?<![\w+])(?:\+|00)[1-9]\d{0,14}(?:(?:[ .-]|[ .-]?\(\d{1,4}\)[ .-]?)\d{1,14}){0,7}/g;
/** NANP: optional `1 ` / `1-`, then `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `415 555 2671` (area and exchange 2–9xx). */
const NANP_PHONE_RE = /(?:1[ .-])?(?:\([2-9]\d\d\) ?[2-9]\d\d[ .-]|([2-9]\d\d)([ .-])[2-9]\d\d\2)\d{4}/g;
/** UK national with the trunk 0 and the usual spacing: `020 7946 0958`, `0161 496 0000`, `07700 900123`, `07700 900 123`. */
const UK_PHONE_RE = /0[1-9](?:\d \d{4} \d{4}|\d\d \d{3} \d{4}|\d{3} (?:\d{6}|\d{3} \d{3}))/g;
/** French national: ten digits in pairs, `01 42 68 53 00`, `01.42.68.53.00`, `06-12-34-56-78`. */
const FR_PHONE_RE = /0[1-9]([ .-])\d\d\1\d\d\1\d\d\1\d\d/g;

const PHONE_KEY_RE = /phone|mobile|tel(?!l)|fax|cell|handy/i;
const WHOLE_PHONE_RE = /^\+?[\d ()./-]+$/;
const DATE_LIKE_RE = /^\d{4}[-./]\d\d[-./]\d\d$|^\d\d[-./]\d\d[-./]\d{4}$/;
const PHONE_WORD_RE = /tel|phone|mobile|\bmob\b|fax|call|cell|sms|whatsapp/i;
const PHONE_KEYWORD_BEFORE_RE = /\b(?:tel|telephone|telefon|phone|mobile|mob|cell|fax|call|sms|whatsapp)\b\.?(?:[\s_-]*(?:no|nr|number|num)\.?)?[\s:#=-]*(?:(?:him|her|me|us|them)\s+)?(?:(?:on|at)\s+)?$/i;
const KEYWORD_PHONE_RE = /(?<![\w+.\-/])(?:0\d{1,4}|\(0\d{1,4}\))(?:[ .\-/]?\d{2,8}){1,4}/g;

function detectPhones(s: string, keyHint: string | undefined, out: PiiSpan[]): void {
  if (s.includes("+") || s.includes("00")) {
    INTL_PHONE_RE.lastIndex = 0;
    for (let m = INTL_PHONE_RE.exec(s); m; m = INTL_PHONE_RE.exec(s)) {
      const t = m[0];
      const end = m.index + t.length;
      if (!cleanEnd(s, end) || !cleanStart(s, m.index)) continue;
      let digits = digitsOf(t).length;
      if (t.includes("(0)")) digits--;
      if (t[0] === "0") {
        // `… 0026 1590 …`, `GB87 KQOU 0012 …`: a group of a longer number
        if (!cleanStart(s, m.index, SPACE) || !cleanStart(s, m.index, DASH) || insideSpacedIban(s, m.index)) continue;
        // `0049 30 901820`: the 00 prefix only with separators (a bare run of digits starting 00 is anything)
        digits -= 2;
        if (digits < 10) continue;
        if (!/[ .()-]/.test(t)) continue;
      }
      if (digits < 8 || digits > 15) continue;
      // `+1234567.89` is an amount, not a number with one dot-separated group of two
      if (/^\+\d+\.\d\d$/.test(t)) continue;
      out.push({ kind: "phone", start: m.index, end });
    }
  }
  if (keyHint !== undefined && PHONE_KEY_RE.test(keyHint)) {
    // a field named phone/mobile/fax/…: its whole value, if it is a number in any national format
    const t = s.trim();
    const d = digitsOf(t).length;
    if (d >= 7 && d <= 15 && WHOLE_PHONE_RE.test(t) && !DATE_LIKE_RE.test(t)) {
      const start = s.indexOf(t);
      out.push({ kind: "phone", start, end: start + t.length });
      return;
    }
  }
  if (PHONE_WORD_RE.test(s)) {
    // a national number with its trunk 0 (`030 901820`, `(030) 901820`) right after a phone keyword
    KEYWORD_PHONE_RE.lastIndex = 0;
    for (let m = KEYWORD_PHONE_RE.exec(s); m; m = KEYWORD_PHONE_RE.exec(s)) {
      const end = m.index + m[0].length;
      const d = digitsOf(m[0]).length;
      if (d < 7 || d > 12 || !cleanEnd(s, end)) continue;
      if (PHONE_KEYWORD_BEFORE_RE.test(s.slice(Math.max(0, m.index - 24), m.index))) out.push({ kind: "phone", start: m.index, end });
    }
  }
  scanSimple(s, NANP_PHONE_RE, "phone", out);
  scanSimple(s, UK_PHONE_RE, "phone", out);
  scanSimple(s, FR_PHONE_RE, "phone", out);
}

/** Pushes every match of `re` whose both ends are clean. */
function scanSimple(s: string, re: RegExp, kind: PiiKind, out: PiiSpan[]): void {
  re.lastIndex = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const end = m.index + m[0].length;
    if (cleanStart(s, m.index) && cleanEnd(s, end)) out.push({ kind, start: m.index, end });
    else re.lastIndex = m.index + 1;
  }
}

// Cards ---------------------------------------------------------------------------------------

/** 13–19 digits in one run, or grouped 4-4-4-(1–4)[-(1–3)] (Visa, Mastercard, …), 4-6-5 (Amex), 4-6-4 (Diners). */
const CARD_RE = /\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}/g;

function detectCards(s: string, out: PiiSpan[]): void {
  CARD_RE.lastIndex = 0;
  for (let m = CARD_RE.exec(s); m; m = CARD_RE.exec(s)) {
    const t = m[0];
    const start = m.index;
    const end = start + t.length;
    const sep = m[1] ?? m[2];
    const sepCode = sep === undefined ? -1 : sep.charCodeAt(0);
    if (!cleanStart(s, start, sepCode) || !cleanEnd(s, end, sepCode)) continue;
    if (sep === " " && insideSpacedIban(s, start)) continue;
    if (cardValid(sep === undefined ? t : digitsOf(t))) out.push({ kind: "card", start, end });
  }
}

// IBANs ---------------------------------------------------------------------------------------

/** Whether the groups of four before `start` (`DE89 3704 …`, `GB82 WEST …`) lead back to an IBAN's country code and check digits. */
function insideSpacedIban(s: string, start: number): boolean {
  let j = start;
  for (let n = 0; n < 8 && j >= 5 && s.charCodeAt(j - 1) === SPACE; n++) {
    const g = j - 5;
    for (let k = g; k < j - 1; k++) if (!isAlnum(s.charCodeAt(k))) return false;
    if (g > 0 && isWord(s.charCodeAt(g - 1))) return false;
    if (isAlpha(s.charCodeAt(g)) && isAlpha(s.charCodeAt(g + 1)) && isDigit(s.charCodeAt(g + 2)) && isDigit(s.charCodeAt(g + 3))) {
      return IBAN_LENGTHS[s.slice(g, g + 2).toUpperCase()] !== undefined;
    }
    j = g;
  }
  return false;
}

const IBAN_START_RE = /(?<![\w])[A-Za-z]{2}\d{2}/g;

function detectIbans(s: string, out: PiiSpan[]): void {
  IBAN_START_RE.lastIndex = 0;
  for (let m = IBAN_START_RE.exec(s); m; m = IBAN_START_RE.exec(s)) {
    const start = m.index;
    let compact = m[0].toUpperCase();
    const len = IBAN_LENGTHS[compact.slice(0, 2)];
    if (len === undefined) continue;
    let j = start + 4;
    const need = len - 4;
    let got = 0;
    let ok = true;
    if (s.charCodeAt(j) === SPACE) {
      // print format: groups of four separated by single spaces, the last one shorter
      while (got < need) {
        if (s.charCodeAt(j) !== SPACE) {
          ok = false;
          break;
        }
        j++;
        const take = Math.min(4, need - got);
        for (let k = 0; k < take; k++) if (!isAlnum(s.charCodeAt(j + k))) ok = false;
        if (!ok) break;
        compact += s.slice(j, j + take);
        j += take;
        got += take;
      }
    } else {
      for (let k = 0; k < need; k++) if (!isAlnum(s.charCodeAt(j + k))) ok = false;
      if (ok) compact += s.slice(j, j + need);
      j += need;
    }
    if (!ok || (j < s.length && isWord(s.charCodeAt(j)))) continue;
    if (ibanValid(compact.toUpperCase())) {
      out.push({ kind: "iban", start, end: j });
      IBAN_START_RE.lastIndex = j;
    }
  }
}

// SSNs and national ids -----------------------------------------------------------------------

const SSN_RE = /(\d{3})-(\d{2})-(\d{4})/g;
/** 9 digits (or 3 2 4 with spaces): an SSN or a BSN only next to a keyword. */
const BARE_NINE_RE = /(\d{3})( ?)(\d{2})\2(\d{4})/g;
/** The keyword right before the number: only `number`/`no`/`#`, punctuation and `is` may stand between. */
const KEYWORD_TAIL = String.raw`(?:[\s_-]*(?:number|num|nr|no)\.?)?[\s:#=()'"-]*(?:is\s+)?$`;
const SSN_KEYWORD_RE = new RegExp(String.raw`(?:\bssn|\bss#|social[\s_-]*security|\bsoc\.?\s*sec)` + KEYWORD_TAIL, "i");
const BSN_KEYWORD_RE = new RegExp(String.raw`(?:\bbsn|burgerservicenummer|\bsofinummer|\bsofi)` + KEYWORD_TAIL, "i");
const SSN_KEY_RE = /ssn|social_?security|socialsecurity/i;
const BSN_KEY_RE = /bsn|burgerservice/i;
const KEYWORD_WINDOW = 40;

/** UK NI number: `QQ 12 34 56 C`, `QQ123456C`, `QQ 123456 C`. */
const NINO_RE = /(?<![\w])([A-Z]{2}) ?(?:\d{6}|\d\d \d\d \d\d) ?[A-D](?!\w)/g;
/** Spanish DNI `12345678Z` / `12345678-Z` and NIE `X1234567L`. */
const DNI_RE = /(?<![\w])(?:(\d{8})|([XYZ])-?(\d{7}))-?([A-Z])(?!\w)/g;

function detectSsnAndIds(s: string, keyHint: string | undefined, out: PiiSpan[]): void {
  if (s.includes("-")) {
    SSN_RE.lastIndex = 0;
    for (let m = SSN_RE.exec(s); m; m = SSN_RE.exec(s)) {
      const end = m.index + m[0].length;
      if (!cleanStart(s, m.index) || !cleanEnd(s, end)) {
        SSN_RE.lastIndex = m.index + 1;
        continue;
      }
      if (ssnValid(m[1], m[2], m[3])) out.push({ kind: "ssn", start: m.index, end });
    }
  }
  const ssnKey = keyHint !== undefined && SSN_KEY_RE.test(keyHint);
  const bsnKey = keyHint !== undefined && BSN_KEY_RE.test(keyHint);
  BARE_NINE_RE.lastIndex = 0;
  for (let m = BARE_NINE_RE.exec(s); m; m = BARE_NINE_RE.exec(s)) {
    const end = m.index + m[0].length;
    if (!cleanStart(s, m.index, SPACE) || !cleanEnd(s, end, SPACE)) {
      BARE_NINE_RE.lastIndex = m.index + 1;
      continue;
    }
    const before = s.slice(Math.max(0, m.index - KEYWORD_WINDOW), m.index);
    if ((ssnKey || SSN_KEYWORD_RE.test(before)) && ssnValid(m[1], m[3], m[4])) out.push({ kind: "ssn", start: m.index, end });
    else if ((bsnKey || BSN_KEYWORD_RE.test(before)) && bsnValid(m[1] + m[3] + m[4])) out.push({ kind: "national_id", start: m.index, end });
  }
  NINO_RE.lastIndex = 0;
  for (let m = NINO_RE.exec(s); m; m = NINO_RE.exec(s)) {
    if (ninoPrefixValid(m[1])) out.push({ kind: "national_id", start: m.index, end: m.index + m[0].length });
  }
  DNI_RE.lastIndex = 0;
  for (let m = DNI_RE.exec(s); m; m = DNI_RE.exec(s)) {
    const end = m.index + m[0].length;
    if (!cleanEnd(s, end)) continue;
    const num = m[1] ?? String("XYZ".indexOf(m[2])) + m[3];
    if (dniLetter(num) === m[4]) out.push({ kind: "national_id", start: m.index, end });
  }
}

// IP addresses --------------------------------------------------------------------------------

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_RE = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}`, "g");
/** `/8` … `/32` after an address (CIDR) */
const CIDR_SUFFIX_RE = /^\/(?:3[0-2]|[12]?\d)(?!\w|\.\d)/;
const VERSION_BEFORE_RE = /(?:\b(?:version|ver|build|release|rel|section|sec|clause|chapter|ch|art|article|para|rule|item|step)\.?|§)\s*$/i;
/** A run that could be an IPv6 address: hex groups with colons, optionally ending in a dotted quad. */
const IPV6_RE = /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|(?=:))(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.\d{1,3}){0,3}/g;
const HEX_GROUP_RE = /^[0-9A-Fa-f]{1,4}$/;
const IPV4_WHOLE_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

function detectIps(s: string, out: PiiSpan[], v4: boolean, v6: boolean): void {
  if (v4 && s.includes(".")) {
    IPV4_RE.lastIndex = 0;
    for (let m = IPV4_RE.exec(s); m; m = IPV4_RE.exec(s)) {
      const end = m.index + m[0].length;
      if (!cleanEnd(s, end) && !CIDR_SUFFIX_RE.test(s.slice(end, end + 5))) continue;
      if (VERSION_BEFORE_RE.test(s.slice(Math.max(0, m.index - 12), m.index))) continue;
      out.push({ kind: "ip", start: m.index, end });
    }
  }
  if (v6) {
    IPV6_RE.lastIndex = 0;
    for (let m = IPV6_RE.exec(s); m; m = IPV6_RE.exec(s)) {
      const end = m.index + m[0].length;
      if (end < s.length) {
        const c = s.charCodeAt(end);
        if (isWord(c) || c === 58 /* : */) continue;
        if (c === DOT && end + 1 < s.length && isDigit(s.charCodeAt(end + 1))) continue;
      }
      if (ipv6Valid(m[0])) out.push({ kind: "ip", start: m.index, end });
    }
  }
}

/** Full (8 groups), compressed (one `::`) and IPv4-suffixed forms; at least one decimal digit. */
export function ipv6Valid(t: string): boolean {
  if (!/\d/.test(t)) return false;
  let groups = 8;
  let body = t;
  if (t.includes(".")) {
    const lastColon = t.lastIndexOf(":");
    if (!IPV4_WHOLE_RE.test(t.slice(lastColon + 1))) return false;
    body = t.slice(0, lastColon + 1) + "0";
    groups = 7;
  }
  const dbl = body.indexOf("::");
  if (dbl === -1) {
    const parts = body.split(":");
    return parts.length === groups && parts.every((p) => HEX_GROUP_RE.test(p));
  }
  if (body.indexOf("::", dbl + 1) !== -1) return false;
  const head = body.slice(0, dbl);
  const tail = body.slice(dbl + 2);
  const hp = head === "" ? [] : head.split(":");
  const tp = tail === "" ? [] : tail.split(":");
  if (hp.length + tp.length > groups - 1) return false;
  return hp.every((p) => HEX_GROUP_RE.test(p)) && tp.every((p) => HEX_GROUP_RE.test(p));
}

// ---------------------------------------------------------------------------------------------
// All together
// ---------------------------------------------------------------------------------------------

const HAS_DIGIT_OR_AT_RE = /[\d@]/;

/**
 * Every PII span in `text`, sorted and non-overlapping (where two overlap the one that starts first
 * wins, then the longer). `keyHint` is the key of the field the text came from (`ssn`, `bsn`, …):
 * it stands in for a keyword in front of an unformatted 9-digit number. `kinds` restricts the search.
 */
export function detectPii(text: string, keyHint?: string, kinds?: ReadonlySet<string>): PiiSpan[] {
  if (!HAS_DIGIT_OR_AT_RE.test(text)) return [];
  const found: PiiSpan[] = [];
  const want = (k: PiiKind) => kinds === undefined || kinds.has(k);
  if (want("email") && text.includes("@")) detectEmails(text, found);
  // cheap gates: how many digits and colons there are bounds what can be there
  let digits = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 58) colons++;
  }
  if (digits > 0) {
    if (want("iban") && digits >= 2) detectIbans(text, found);
    if (want("card") && digits >= 13) detectCards(text, found);
    if ((want("ssn") || want("national_id")) && digits >= 6) {
      const before = found.length;
      detectSsnAndIds(text, keyHint, found);
      if (kinds !== undefined) {
        for (let i = found.length - 1; i >= before; i--) if (!kinds.has(found[i].kind)) found.splice(i, 1);
      }
    }
    if (want("phone") && digits >= 7) detectPhones(text, keyHint, found);
    if (want("ip")) detectIps(text, found, digits >= 4, colons >= 7 || (colons >= 2 && text.includes("::")));
  }
  if (found.length <= 1) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiSpan[] = [found[0]];
  for (let i = 1; i < found.length; i++) {
    const f = found[i];
    if (f.start >= out[out.length - 1].end) out.push(f);
  }
  return out;
}

/**
 * What a JSON number is, if it is PII: a card number (an integer whose digits are a valid card), or,
 * under an `ssn`-like key, a valid 9-digit SSN, or under a `bsn`-like key a valid BSN.
 */
export function detectPiiInNumber(n: number, keyHint?: string, kinds?: ReadonlySet<string>): PiiKind | null {
  if (!Number.isInteger(n) || n < 100_000_000 || n >= 1e20) return null;
  const d = String(n);
  if (d.length >= 13) return (kinds === undefined || kinds.has("card")) && cardValid(d) ? "card" : null;
  if (d.length === 9 && keyHint !== undefined) {
    if (SSN_KEY_RE.test(keyHint) && (kinds === undefined || kinds.has("ssn")) && ssnValid(d.slice(0, 3), d.slice(3, 5), d.slice(5))) return "ssn";
    if (BSN_KEY_RE.test(keyHint) && (kinds === undefined || kinds.has("national_id")) && bsnValid(d)) return "national_id";
  }
  return null;
}
