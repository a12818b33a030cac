import { isIP } from "node:net";

/** "[::1]" → "::1", lower-cased: a host as URL and Host headers spell it, bare. */
export function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/** Whether `host` names this machine only: localhost, 127.0.0.0/8, ::1 (and its mapped forms). */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host);
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
  return false;
}
