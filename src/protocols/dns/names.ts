// Names for DNS record types, classes, opcodes and response codes (IANA "Domain Name System
// (DNS) Parameters" registry); unknown numbers show as TYPE<n> / RCODE<n> (RFC 3597 style).

const types: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 17: 'RP',
  18: 'AFSDB', 28: 'AAAA', 29: 'LOC', 33: 'SRV', 35: 'NAPTR', 39: 'DNAME', 41: 'OPT', 43: 'DS',
  46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 59: 'CDS',
  64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 250: 'TSIG', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 256: 'URI',
  257: 'CAA',
};

const rcodes = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const opcodes: Record<number, string> = { 0: 'QUERY', 1: 'IQUERY', 2: 'STATUS', 4: 'NOTIFY', 5: 'UPDATE' };

export function typeName(t: number): string {
  return types[t] ?? `TYPE${t}`;
}

export function className(c: number): string {
  return c === 1 ? 'IN' : c === 3 ? 'CH' : c === 4 ? 'HS' : c === 255 ? 'ANY' : `CLASS${c}`;
}

export function rcodeName(r: number): string {
  return rcodes[r] ?? `RCODE${r}`;
}

export function opcodeName(o: number): string | undefined {
  return opcodes[o];
}
