// Pure on purpose: core imports no I/O module, so node:net's isIP is re-stated here for the two
// address forms a loopback check needs (test/unit/core/net.test.ts checks it against isIP).
const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** An IPv4-mapped IPv6 address, with the zone id isIP also accepts (the host is lower-cased first). */
const MAPPED_IPV4 = new RegExp(`^::ffff:(${OCTET}(?:\\.${OCTET}){3})(?:%[0-9a-z.:-]+)?$`);

/** "[::1]" → "::1", lower-cased: a host as URL and Host headers spell it, bare. */
export function bareHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/** Whether `host` names this machine only: localhost, 127.0.0.0/8, ::1 (and its mapped forms). */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host);
  if (h === "localhost") return true;
  if (IPV4.test(h)) return h.startsWith("127.");
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  return MAPPED_IPV4.exec(h)?.[1]?.startsWith("127.") === true;
}
