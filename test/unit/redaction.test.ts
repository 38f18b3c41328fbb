/** PII redaction of audit payloads: every detector (finds and near-misses), field rules, paths, immutability, speed, properties, and the labelled corpus' recall/precision. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bsnValid, cardValid, detectPii, dniLetter, ibanValid, ipv6Valid, luhnValid, ninoPrefixValid, ssnValid } from "../../src/audit/pii-detectors.ts";
import { formatPath, parseFieldRule, PII_KINDS, redact } from "../../src/audit/redaction.ts";
import { makeCard, makeDni, makeEmail, makeIban, makeIp, makeNino, makePhone, makeSsn, Rng } from "../../bench/support/pii-corpus.ts";
import { measureRedactionQuality } from "../../bench/support/redaction-quality.ts";

/** The text after redaction. */
const r = (s: string, rules?: Parameters<typeof redact>[1]) => redact(s, rules).value as string;
/** The kinds found in a string, in order. */
const kinds = (s: string) => redact(s).redactions.map((x) => x.kind);

function expectRedacted(kind: string, values: string[]) {
  for (const v of values) {
    expect(r(`x ${v} y`), v).toBe(`x [REDACTED:${kind}] y`);
    expect(r(v), v).toBe(`[REDACTED:${kind}]`);
  }
}
function expectKept(values: string[]) {
  for (const v of values) expect(r(`x ${v} y`), v).toBe(`x ${v} y`);
}

describe("emails", () => {
  it("finds addresses with dots, plus tags, digits, hyphens, subdomains and upper case", () => {
    expectRedacted("email", ["jane.doe@example.com", "j_doe+claims@mail.example.co.uk", "JANE.DOE99@EXAMPLE.ORG", "a-b%c@sub-domain.example.io", "x@y.fr"]);
    expect(r("mailto:jane@example.com?subject=x")).toBe("mailto:[REDACTED:email]?subject=x");
    expect(r("<jane@example.com>, (bob@example.org).")).toBe("<[REDACTED:email]>, ([REDACTED:email]).");
  });
  it("keeps handles, scoped packages, prices and hosts without a TLD", () => {
    expectKept(["@jdoe", "@scope/pkg-utils", "3 @ $4.00", "user@localhost", "a@b", "x@y.c0m", "@@", "foo@-bad.com"]);
  });
});

describe("phones", () => {
  it("finds E.164 and international formats", () => {
    expectRedacted("phone", ["+14155552671", "+1 415 555 2671", "+1-415-555-2671", "+1 (415) 555-2671", "+1.415.555.2671", "+44 20 7946 0958", "+44 (0)20 7946 0958", "+44 (0) 20 7946 0958", "+442079460958", "+49 30 901820", "+49 (0)30 9018200", "+49 151 23456789", "+33 1 42 68 53 00", "+33 (0)6 12 34 56 78", "0049 30 901820", "001-415-555-2671"]);
  });
  it("finds US, UK and French national formats", () => {
    expectRedacted("phone", ["(415) 555-2671", "(415)555-2671", "415-555-2671", "415.555.2671", "415 555 2671", "1-800-555-0199", "1 (415) 555-2671", "020 7946 0958", "0161 496 0000", "07700 900123", "07700 900 123", "01 42 68 53 00", "06.12.34.56.78", "06-12-34-56-78"]);
  });
  it("finds other national formats after a phone keyword or as a phone field's whole value", () => {
    expect(r("Tel. 030 901820")).toBe("Tel. [REDACTED:phone]");
    expect(r("call him on 0151 12345678, thanks")).toBe("call him on [REDACTED:phone], thanks");
    expect(r("Fax no. (030) 9018200")).toBe("Fax no. [REDACTED:phone]");
    expect(redact({ homePhone: "4155552671", mobile: "(030) 901820", phone: "2024-01-15" }).value).toEqual({ homePhone: "[REDACTED:phone]", mobile: "[REDACTED:phone]", phone: "2024-01-15" });
    expect(r("Büro 030 901820")).toBe("Büro 030 901820"); // no keyword: not a known format
  });
  it("keeps dates, timestamps, versions, amounts, ids, invalid NANP numbers and grouped numbers", () => {
    expectKept([
      "2024-01-15", "15/01/2024", "15.01.2024", "2024.01.15", "20240115", "2024-01-15T10:30:00Z", "2024-01-15T10:30:00+01:00", "2024-01-15T10:30:00.123-05:00",
      "10:30:00", "1.2.3", "10.0.19045.3803", "$1,234,567.89", "EUR 12 345,67", "1.234.567,89 €", "+12.50", "+1234567.89", "UTC+05:30",
      "550e8400-e29b-41d4-a716-446655440000", "ORD-2024-004512", "PO-4500012345", "CLM-415-555-2671", "SO4155552671", "4155552671", "123-456-7890", "023-456-7890",
      "415-555-26710", "415-555-2671-02", "94105-1234", "978-3-16-148410-0", "CVE-2024-12345", "006-723-3412", "1718200000000",
      "9400 1111 0000 0012 3456 78", "GB87 KQOU 0012 2589 6164 00",
    ]);
  });
});

describe("cards", () => {
  it("finds Luhn-valid numbers of the card schemes, contiguous or grouped", () => {
    expectRedacted("card", [
      "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "4222222222222", "5555555555554444", "2223003122003222", "378282246310005", "3782 822463 10005",
      "3782-822463-10005", "6011111111111117", "30569309025904", "3056 930902 5904", "3530111333300000", "6200000000000005", "4111 1111 1111 1111 003".replace(" 003", ""),
    ]);
  });
  it("keeps Luhn-failing numbers, unknown issuer ranges, wrong lengths, IMEIs, masked and longer numbers", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expectKept([
      "4111111111111112", "4111 1111 1111 1112", "5555-5555-5555-4445", "378282246310006", "9111111111111111", "0000000000000000", "1234567812345670", "411111111111111",
      "41111111111111111111", "IMEI 356938035643809", "**** **** **** 1111", "4111 11** **** 1111", "4111111111111111x", "x4111111111111111", "1.4111111111111111", "4111111111111111.5",
      "4111 1111 1111 1111 2222", "5 4111 1111 1111 1111",
    ]);
    expect(cardValid("378282246310005")).toBe(true);
    expect(cardValid("3782822463100050")).toBe(false); // Amex is 15 digits
  });
  it("checks JSON numbers that are card numbers", () => {
    expect(redact({ card: 4111111111111111, amount: 4111.11, n: 4111111111111112, ts: 1718200000000 })).toEqual({
      value: { card: "[REDACTED:card]", amount: 4111.11, n: 4111111111111112, ts: 1718200000000 },
      redactions: [{ kind: "card", path: "card" }],
    });
  });
});

describe("IBANs", () => {
  const valid = ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300", "BE68539007547034", "ES9121000418450200051332", "IT60X0542811101000000123456", "CH9300762011623852957", "NO9386011117947", "MT84MALT011000012345MTLCAST001S"];
  it("finds valid IBANs, compact or in groups of four, either case", () => {
    for (const v of valid) expect(ibanValid(v), v).toBe(true);
    expectRedacted("iban", [...valid, "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "de89370400440532013000"]);
    expect(r("IBAN:DE89370400440532013000.")).toBe("IBAN:[REDACTED:iban].");
  });
  it("keeps mod-97 failures, wrong lengths, unknown countries and VAT ids", () => {
    expectKept(["DE88370400440532013000", "DE00370400440532013000", "DE89 3704 0044 0532 0130 01", "GB82WEST1234569876543", "DE8937040044053201300099", "XX89370400440532013000", "DE123456789", "GB123456789", "DE89370400440532013000X"]);
    expect(kinds("DE88 3704 0044 0532 0130 00")).toEqual([]);
  });
});

describe("SSNs", () => {
  it("finds formatted SSNs with valid area, group and serial", () => {
    expectRedacted("ssn", ["123-45-6789", "001-01-0001", "665-99-9999", "899-12-3456"]);
    expect(ssnValid("123", "45", "6789")).toBe(true);
  });
  it("keeps area 000, 666, 900–999, group 00, serial 0000, and SSN-shaped parts of longer tokens", () => {
    expectKept(["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000", "1123-45-6789", "123-45-67890", "A123-45-6789", "123-45-6789-1"]);
  });
  it("finds unformatted 9-digit SSNs only right after a keyword or under an ssn key", () => {
    expect(r("SSN: 123456789")).toBe("SSN: [REDACTED:ssn]");
    expect(r("social security number is 123 45 6789.")).toBe("social security number is [REDACTED:ssn].");
    expect(r("ssn # 123456789")).toBe("ssn # [REDACTED:ssn]");
    expectKept(["123456789", "claim 123456789", "routing 021000021"]);
    expect(r("SSN: 123-45-6789, claim 987654321")).toBe("SSN: [REDACTED:ssn], claim 987654321");
    expect(r("SSN 000456789")).toBe("SSN 000456789");
    expect(redact({ ssn: "123456789", claimantSsn: 123456789, other: 123456789, ssnBad: 666123456 }).value).toEqual({ ssn: "[REDACTED:ssn]", claimantSsn: "[REDACTED:ssn]", other: 123456789, ssnBad: 666123456 });
  });
});

describe("national ids", () => {
  it("finds UK NI numbers with allocated prefixes and suffix A–D", () => {
    expectRedacted("national_id", ["QQ 12 34 56 C", "QQ123456C", "AB123456C", "AB 123456 D", "JG 10 30 45 A"]);
    expect(ninoPrefixValid("AB")).toBe(true);
  });
  it("keeps NI numbers with unallocated prefixes or suffixes", () => {
    for (const p of ["DA", "FA", "IA", "QA", "UA", "VA", "AD", "AO", "BG", "GB", "NK", "KN", "TN", "NT", "ZZ"]) expect(ninoPrefixValid(p), p).toBe(false);
    expectKept(["DA123456A", "GB 12 34 56 A", "AB123456E", "AB12345C", "ab123456c"]);
  });
  it("finds Spanish DNI and NIE numbers with the right check letter, and keeps wrong letters", () => {
    expect(dniLetter("12345678")).toBe("Z");
    expectRedacted("national_id", ["12345678Z", "12345678-Z", "X1234567L", "Y1234567X", "Z1234567R"]);
    expectKept(["12345678A", "X1234567A", "12345678z", "112345678Z"]);
  });
  it("finds Dutch BSNs passing the 11-test next to a keyword or under a bsn key", () => {
    expect(bsnValid("111222333")).toBe(true);
    expect(bsnValid("123456789")).toBe(false);
    expect(r("BSN 111222333")).toBe("BSN [REDACTED:national_id]");
    expect(r("burgerservicenummer: 123456782")).toBe("burgerservicenummer: [REDACTED:national_id]");
    expectKept(["111222333", "BSN 111222334"]);
    expect(redact({ bsn: "111222333", bsnNumber: 111222333 }).value).toEqual({ bsn: "[REDACTED:national_id]", bsnNumber: "[REDACTED:national_id]" });
  });
});

describe("IP addresses", () => {
  it("finds IPv4 addresses, also with a port, a CIDR prefix or in a URL", () => {
    expectRedacted("ip", ["192.168.1.10", "10.0.0.1", "255.255.255.255", "0.0.0.0", "8.8.8.8"]);
    expect(r("http://10.0.0.1:8080/x and 10.1.0.0/16.")).toBe("http://[REDACTED:ip]:8080/x and [REDACTED:ip]/16.");
  });
  it("keeps octets over 255, longer dotted numbers, version strings and leading zeros", () => {
    expectKept(["256.1.1.1", "999.999.999.999", "1.2.3.4.5", "1.2.3", "v1.2.3.4", "version 1.2.3.4", "build 10.0.0.1", "section 1.2.3.4", "01.02.03.04", "1.2.3.4a", "Chrome/120.0.6099.109"]);
  });
  it("finds IPv6 addresses, full and compressed, with an IPv4 tail, in brackets", () => {
    expectRedacted("ip", ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::1", "fe80::1ff:fe23:4567:890a", "::1", "::ffff:192.168.1.1", "2001:db8:85a3::8a2e:370:7334", "1:2:3:4:5:6:7::"]);
    expect(r("[2001:db8::1]:443")).toBe("[[REDACTED:ip]]:443");
    expect(ipv6Valid("2001:db8::1")).toBe(true);
  });
  it("keeps times, MAC addresses, key fingerprints, C++ scopes and malformed groups", () => {
    expectKept(["10:30", "10:30:00", "00:1A:2B:3C:4D:5E", "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "std::vector", "1::2::3", "12345::1", "2001:db8:::1", "a:b:c:d:e:f:1:2:3", "abcd::ef"]);
  });
});

describe("hashes, UUIDs and ids", () => {
  it("keeps hex hashes, UUIDs and long numeric ids", () => {
    expectKept([
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "d41d8cd98f00b204e9800998ecf8427e", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "550e8400-e29b-41d4-a716-446655440000", "123e4567-e89b-12d3-a456-426614174000", "12345678901234567890123", "4111111111111111111111", "a1b2c3d",
    ]);
  });
});

describe("strings", () => {
  it("keeps the rest of the string and reports one redaction per span", () => {
    const out = redact("Mail jane@example.com or bob@example.org, card 4111 1111 1111 1111.");
    expect(out.value).toBe("Mail [REDACTED:email] or [REDACTED:email], card [REDACTED:card].");
    expect(out.redactions).toEqual([
      { kind: "email", path: "$" },
      { kind: "email", path: "$" },
      { kind: "card", path: "$" },
    ]);
  });
  it("prefers the span that starts first (a phone inside an email stays part of the email)", () => {
    expect(r("john+14155552671@example.com")).toBe("[REDACTED:email]");
    expect(detectPii("+1 415-555-2671")).toEqual([{ kind: "phone", start: 0, end: 15 }]);
  });
  it("restricts the search to the kinds asked for", () => {
    expect(redact("jane@example.com 10.0.0.1", { kinds: ["ip"] }).value).toBe("jane@example.com [REDACTED:ip]");
    expect(PII_KINDS).toEqual(["email", "phone", "card", "iban", "ssn", "national_id", "ip"]);
  });
});

describe("field rules and paths", () => {
  const doc = () => ({
    input: { claimant: { medical_history: { a: 1 }, emails: ["a@example.com", "b@example.com"], password: "pw" }, items: [{ x: "1", y: 2 }, { x: "3" }] },
    args: { ssn: "12", password: "hunter2" },
    deep: { a: { b: { medical_history: null } } },
    medical_history: "root-level",
    "odd key": { "x y": "jane@example.com", ok: "10.0.0.1" },
  });
  it("replaces a matching field's whole value and records kind field", () => {
    const { value, redactions } = redact(doc(), { fields: ["input.claimant.medical_history", "args.ssn", "*.password", "**.medical_history", "input.items[0].x", "input.items[*].y"] });
    const v = value as ReturnType<typeof doc>;
    expect(v.input.claimant.medical_history).toBe("[REDACTED:field]");
    expect(v.args).toEqual({ ssn: "[REDACTED:field]", password: "[REDACTED:field]" });
    expect(v.input.claimant.password).toBe("pw"); // `*.password` is exactly two segments deep
    expect(v.deep.a.b.medical_history).toBe("[REDACTED:field]");
    expect(v.medical_history).toBe("[REDACTED:field]"); // `**` matches zero segments too
    expect(v.input.items).toEqual([{ x: "[REDACTED:field]", y: "[REDACTED:field]" }, { x: "3" }]);
    expect(redactions.filter((x) => x.kind === "field").map((x) => x.path).sort()).toEqual(
      ["args.password", "args.ssn", "deep.a.b.medical_history", "input.claimant.medical_history", "input.items[0].x", "input.items[0].y", "medical_history"].sort(),
    );
  });
  it("writes paths with dots, [i] indexes, quoted odd keys, and $ for a root string", () => {
    const { redactions } = redact(doc());
    expect(redactions).toEqual([
      { kind: "email", path: "input.claimant.emails[0]" },
      { kind: "email", path: "input.claimant.emails[1]" },
      { kind: "email", path: '["odd key"]["x y"]' },
      { kind: "ip", path: '["odd key"].ok' },
    ]);
    expect(redact([["10.0.0.1"]]).redactions).toEqual([{ kind: "ip", path: "[0][0]" }]);
    expect(redact("10.0.0.1").redactions).toEqual([{ kind: "ip", path: "$" }]);
    expect(formatPath(["a", 0, "b c", "$ok", "1x"])).toBe('a[0]["b c"].$ok["1x"]');
  });
  it("parses quoted keys, [*], a leading $ and rejects malformed rules", () => {
    expect(parseFieldRule('$.a["b c"][*].**')).toEqual([{ t: "key", k: "a" }, { t: "key", k: "b c" }, { t: "any" }, { t: "deep" }]);
    expect(redact({ "odd key": { "x y": "s" } }, { fields: ['["odd key"]["x y"]'] }).value).toEqual({ "odd key": { "x y": "[REDACTED:field]" } });
    expect(redact({ a: 1 }, { fields: ["**"] })).toEqual({ value: "[REDACTED:field]", redactions: [{ kind: "field", path: "$" }] });
    for (const bad of ["a..b", "a.", "a[", "a[x]", ".a"]) expect(() => redact({}, { fields: [bad] }), bad).toThrow();
  });
  it("does not modify the input, keeps non-PII values and copies __proto__ keys as data", () => {
    const input = doc();
    const before = structuredClone(input);
    const { value } = redact(input, { fields: ["**.medical_history"] });
    expect(input).toEqual(before);
    expect(value).not.toBe(input);
    const evil = JSON.parse('{"__proto__": {"polluted": "10.0.0.1"}}') as Record<string, unknown>;
    const out = redact(evil).value as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.__proto__).toEqual({ polluted: "[REDACTED:ip]" });
    expect(redact({ a: true, b: null, c: 1.5, d: [] }).value).toEqual({ a: true, b: null, c: 1.5, d: [] });
    expect(redact({ at: new Date(0) }).value).toEqual({ at: "1970-01-01T00:00:00.000Z" });
  });
});

describe("speed", () => {
  it("finishes a 1 MB string of digits and separators in well under a second, whatever the mix", () => {
    const rng = new Rng(7);
    for (const alphabet of ["0123456789", "0123456789 -.", "0123456789 -.+()", "0123456789abcdef:.", "1:", "1.", "+1 ", "9-", "0 ", "@a.", "A1 "]) {
      const s = rng.chars(1 << 20, alphabet);
      const t0 = performance.now();
      redact(s);
      expect(performance.now() - t0, alphabet).toBeLessThan(500);
    }
    for (const rep of ["4111 ", "1.", "1:", "a@", "+1 ", "12-", "QQ 12 ", "00 ", "SSN 1"]) {
      const s = rep.repeat(Math.ceil((1 << 20) / rep.length));
      const t0 = performance.now();
      redact(s);
      expect(performance.now() - t0, rep).toBeLessThan(500);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const MAKERS: Array<[string, (r: Rng) => string]> = [
  ["email", makeEmail], ["phone", makePhone], ["card", makeCard], ["iban", makeIban], ["ssn", makeSsn], ["national_id", makeNino], ["national_id", makeDni], ["ip", makeIp],
];
/** Surrounding text: words, punctuation and spaces, but no digits (a digit next to a number changes what it is); `; ` before the value so that no word (`version`, `section`) reads as its label. */
const filler = fc.stringMatching(/^[A-Za-z ,;!?'"()\n\t-]{0,30}$/).map((s) => ` ${s}; `);
const json = fc.jsonValue({ maxDepth: 4 });

describe("properties", () => {
  it("redacting twice equals redacting once", () => {
    fc.assert(
      fc.property(json, (v) => {
        const once = redact(v, { fields: ["**.secret", "*.b"] }).value;
        expect(redact(once, { fields: ["**.secret", "*.b"] }).value).toEqual(once);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."0123456789 -.+()@:/abcdefXYZ".split("")), maxLength: 60 }), (s) => {
        const once = redact(s).value;
        expect(redact(once).value).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });
  it("a planted value never survives in random surrounding text", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: MAKERS.length - 1 }), filler, filler, (seed, which, before, after) => {
        const [kind, make] = MAKERS[which];
        const v = make(new Rng(seed));
        const out = r(`${before}${v}${after}`);
        expect(out).not.toContain(v);
        expect(out).toContain(`[REDACTED:${kind}]`);
      }),
      { numRuns: 3000 },
    );
  });
  it("a string with no digit and no @ is unchanged", () => {
    fc.assert(fc.property(fc.string().map((s) => s.replace(/[\d@]/g, "")), (s) => {
        expect(redact(s)).toEqual({ value: s, redactions: [] });
      }), { numRuns: 2000 });
  });
  it("never changes the structure: same keys, same array lengths, same scalars where nothing was found", () => {
    const sameShape = (a: unknown, b: unknown): void => {
      if (Array.isArray(a)) {
        expect(Array.isArray(b)).toBe(true);
        expect((b as unknown[]).length).toBe(a.length);
        a.forEach((x, i) => sameShape(x, (b as unknown[])[i]));
      } else if (a !== null && typeof a === "object") {
        expect(Object.keys(b as object)).toEqual(Object.keys(a));
        for (const k of Object.keys(a)) sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
      } else if (typeof a !== "string" && typeof b !== "string") {
        expect(b).toBe(a);
      }
    };
    fc.assert(
      fc.property(json, (v) => {
        const before = JSON.stringify(v);
        sameShape(v, redact(v).value);
        expect(JSON.stringify(v)).toBe(before);
      }),
      { numRuns: 500 },
    );
  });
  it("reports one redaction per placeholder written, never the value", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer(), fc.integer({ min: 0, max: MAKERS.length - 1 }), filler), { maxLength: 5 }), (parts) => {
        const text = parts.map(([seed, which, f]) => f + MAKERS[which][1](new Rng(seed))).join("");
        const { value, redactions } = redact({ t: text });
        const placeholders = (JSON.stringify(value).match(/\[REDACTED:/g) ?? []).length;
        expect(redactions.length).toBe(placeholders);
        for (const x of redactions) expect(Object.keys(x).sort()).toEqual(["kind", "path"]);
      }),
      { numRuns: 500 },
    );
  });
});

describe("labelled corpus", () => {
  it("reaches recall ≥ 0.99 and precision ≥ 0.98 overall, and ≥ 0.97 for every kind", () => {
    const q = measureRedactionQuality(1000);
    expect(q.recall).toBeGreaterThanOrEqual(0.99);
    expect(q.precision).toBeGreaterThanOrEqual(0.98);
    for (const k of q.perKind) {
      expect(k.tp + k.fn, k.kind).toBeGreaterThan(100);
      expect(k.recall, k.kind).toBeGreaterThanOrEqual(0.97);
      expect(k.precision, k.kind).toBeGreaterThanOrEqual(0.97);
    }
    expect(q.mbPerS).toBeGreaterThan(1);
  });
});
