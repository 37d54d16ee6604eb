// Python's repr() of plain data, for messages and log lines that upstream builds with it.

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`);
  return `{${entries.join(', ')}}`;
}

/** str() of a value: strings bare, everything else as repr */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}
