/**
 * core/net.ts re-states node:net's isIP for the loopback check (core imports no I/O module): it
 * must answer exactly as the version built on isIP did, for any host string.
 */
import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bareHost, isLoopbackHost } from "../../../src/core/net.js";

function loopbackByIsIP(host: string): boolean {
  const h = bareHost(host);
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
  return false;
}

const pieces = [
  "127",
  "0",
  "1",
  "255",
  "256",
  "01",
  ".",
  ":",
  "::",
  "ffff",
  "FFFF",
  "%eth0",
  "%",
  "[",
  "]",
  "a",
  "localhost",
  "::1",
  "10",
];
const hosts = fc.oneof(
  fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => p.join("")),
  fc
    .tuple(
      fc.constantFrom("", "[", "::ffff:", "::FFFF:", "0:0:0:0:0:ffff:"),
      fc.ipV4(),
      fc.constantFrom("", "]", "%eth0", "%", ".1", ":1"),
    )
    .map((t) => t.join("")),
  fc.ipV6(),
  fc.string(),
);

describe("isLoopbackHost", () => {
  it("agrees with node:net's isIP on generated hosts", () => {
    fc.assert(
      fc.property(hosts, (h) => isLoopbackHost(h) === loopbackByIsIP(h)),
      { numRuns: 5000 },
    );
  });

  it("knows the usual spellings", () => {
    for (const h of [
      "localhost",
      "LOCALHOST",
      "127.0.0.1",
      "127.255.1.2",
      "[::1]",
      "::1",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
      "[::ffff:127.0.0.1]",
      "::ffff:127.0.0.1%eth0",
    ]) {
      expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    }
    for (const h of [
      "128.0.0.1",
      "127.0.0.256",
      "127.1",
      "::2",
      "::ffff:10.0.0.1",
      "example.com",
      "0.0.0.0",
      "",
    ]) {
      expect([h, isLoopbackHost(h)]).toEqual([h, false]);
    }
  });
});
