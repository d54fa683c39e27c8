// The capture filter (pcap-filter(7)) from the addresses to tap: this node's target pods and
// the Services' ClusterIPs (the pre-DNAT leg). Addresses were checked as IP text when the
// targets were parsed (targets.ts), so nothing else can reach the expression.

/**
 * Null when there is nothing to capture. Sorted, so the same set gives the same text. The
 * tapper's own port is left out: with a hostNetwork target (the node's IP) the tapper would
 * otherwise capture the stream it serves.
 */
export function bpfForHosts(ips: Iterable<string>, ownPort: number | null = null): string | null {
  const sorted = [...new Set(ips)].sort();
  if (sorted.length === 0) return null;
  const hosts = `(tcp or udp) and (${sorted.map((ip) => `host ${ip}`).join(' or ')})`;
  return ownPort === null ? hosts : `${hosts} and not tcp port ${ownPort}`;
}
