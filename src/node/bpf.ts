// The capture filter (pcap-filter(7)) from the addresses to tap: this node's target pods and
// the Services' ClusterIPs (the pre-DNAT leg). Addresses were checked as IP text when the
// targets were parsed (targets.ts), so nothing else can reach the expression.

/** Null when there is nothing to capture. Sorted, so the same set gives the same text. */
export function bpfForHosts(ips: Iterable<string>): string | null {
  const sorted = [...new Set(ips)].sort();
  if (sorted.length === 0) return null;
  return `(tcp or udp) and (${sorted.map((ip) => `host ${ip}`).join(' or ')})`;
}
