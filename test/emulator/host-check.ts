/**
 * Ollama's allowedHostsMiddleware for a loopback listener: a Host that is not a local IP address,
 * `localhost`, the machine's hostname, or under .localhost/.local/.internal gets a bare 403. It is what
 * makes a proxy that forwards the client's Host fail, so the gateway must set Host to the upstream's.
 */
import { hostname } from "node:os";
import { isIP } from "node:net";

const LOCAL_SUFFIXES = [".localhost", ".local", ".internal"];

export function allowedHost(hostHeader: string | null): boolean {
  const host = stripPort((hostHeader ?? "").toLowerCase());
  if (host === "" || host === "localhost" || host === hostname().toLowerCase()) return true;
  if (isIP(host)) return isLocalAddress(host);
  return LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

function stripPort(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  return colon > 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

/** Loopback, private and unspecified addresses, as netip's IsLoopback/IsPrivate/IsUnspecified. */
function isLocalAddress(ip: string): boolean {
  if (isIP(ip) === 6) return ip === "::1" || ip === "::" || /^f[cd]/.test(ip);
  const [a, b] = ip.split(".").map(Number) as [number, number];
  return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
