// resource.Quantity as numbers: "100m" CPU, "64Mi" memory, "1G", "2e3". The scheduler sums
// requests with these; the kubelet turns memory limits into cgroup limits.
const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

export function isQuantity(s: unknown): boolean {
  return typeof s === 'number' || (typeof s === 'string' && QUANTITY.test(s.trim()));
}

/** The value of a quantity; NaN when it is not one. */
export function parseQuantity(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = QUANTITY.exec(s.trim());
  if (!m) return NaN;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? '']!;
}
