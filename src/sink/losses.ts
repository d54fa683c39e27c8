// Which counters mean the session lost data: bytes the capture never saw (gaps) and calls,
// bytes or connections thrown away when a bound was hit (drops, evictions, overflows).
// `--strict` fails the run on any of them (exit 5); without it they are reported on stderr
// and in --summary-json, never hidden.
//
// Not losses: what the user's own --max-body / --max-messages trimmed from an entry (the
// call is there, its size exact), traffic that is not an API call (unclaimed), and bytes
// that could not be parsed (malformed: they were seen, and are counted as such).

const LOSS = [
  /\.gaps$/, /\.gapBytes$/, /[eE]victed(\.|$)/, /Overflow$/, /bufferCapHits/,
  /pendingDropped$/, /pendingExchangesDropped$/, /streamsDropped$/, /heldBytesDropped$/,
  /bodiesLost$/, /bodyBytesDropped$/, /snapTruncated$/, /fragments\.truncated$/,
  // Live sessions: the kernel's and the interface's drops, and entries a tapper dropped for
  // a slow consumer (the stream's `dropped` markers).
  /^capture\.dropped/, /^stream\.dropped/,
  // --pcap-out: packets let go (over its budget) before their connection's call was reported.
  /^pcapOut\.(packetsDropped|flowsIncomplete|callsWithoutPackets)$/,
];

const verdicts = new Map<string, boolean>();

export function isLossCounter(name: string): boolean {
  let loss = verdicts.get(name);
  if (loss === undefined) verdicts.set(name, (loss = LOSS.some((pattern) => pattern.test(name))));
  return loss;
}

/** The non-zero loss counters among `stats`, by name. */
export function lossCounters(stats: Record<string, number>): Record<string, number> {
  const losses: Record<string, number> = {};
  for (const [name, value] of Object.entries(stats)) if (value > 0 && isLossCounter(name)) losses[name] = value;
  return losses;
}

/** The number of loss events so far (for --strict's "first event decides"). */
export function lossTotal(counters: Iterable<[string, number]>): number {
  let total = 0;
  for (const [name, value] of counters) if (value > 0 && isLossCounter(name)) total += value;
  return total;
}
