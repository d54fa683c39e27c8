// Names for addresses the cluster does not know, learnt from the traffic itself: the name the
// latest DNS answer gave an address (the question asked, not the CNAME chain's end: that is
// what the caller meant), else the server name (SNI) a TLS client last asked that address for.
// Bounded: past MAX_NAMES addresses, new ones are not named (counted), never grown.

import type { Entry } from '../entry.js';

const MAX_NAMES = 65536;

export class TrafficNames {
  private readonly fromDns = new Map<string, string>();
  private readonly fromSni = new Map<string, string>();
  dropped = 0;

  learn(entry: Entry): void {
    if (entry.protocol === 'dns') this.learnDns(entry);
    else if (entry.protocol === 'tls' && typeof entry.request.sni === 'string' && entry.request.sni !== '') {
      this.remember(this.fromSni, entry.dst.ip, entry.request.sni);
    }
  }

  nameOf(ip: string): string | undefined {
    return this.fromDns.get(ip) ?? this.fromSni.get(ip);
  }

  private learnDns(entry: Entry): void {
    const questions = entry.request.questions as Array<{ name?: unknown }> | undefined;
    const asked = questions?.[0]?.name;
    const answers = entry.response?.answers as Array<{ type?: unknown; data?: unknown }> | undefined;
    if (typeof asked !== 'string' || !Array.isArray(answers)) return;
    for (const answer of answers) {
      if ((answer.type === 'A' || answer.type === 'AAAA') && typeof answer.data === 'string') {
        this.remember(this.fromDns, answer.data, asked.replace(/\.$/, ''));
      }
    }
  }

  private remember(map: Map<string, string>, ip: string, name: string): void {
    if (map.has(ip) || map.size < MAX_NAMES) map.set(ip, name);
    else this.dropped += 1;
  }
}
