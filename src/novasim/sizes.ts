// Byte sizes and rates as a user types them: 4096, 64K, 20MiB, 20MiB/s, 0:256M.
const MiB = 1 << 20;
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: MiB, mb: 1e6, mib: MiB, g: 1 << 30, gb: 1e9, gib: 1 << 30 };

/** "64K", "20MiB", "4096" → bytes */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`invalid size value: '${text}'`);
  return Math.round(Number(m[1]) * unit);
}

/** "20MiB/s", "512K" → bytes per second (positive) */
export function parseRate(text: string): number {
  const n = parseSize(text.replace(/\/s$/i, ''));
  if (n <= 0) throw new Error(`invalid rate value: '${text}'`);
  return n;
}

/** "4K,16K,64K" */
export function parseSizes(text: string): number[] {
  return text.split(',').map(parseSize);
}

/** "OFFSET:LENGTH" */
export function parseRegion(text: string): { offset: number; length: number } {
  const parts = text.split(':');
  if (parts.length !== 2) throw new Error(`invalid region value: '${text}' (expected OFFSET:LENGTH)`);
  return { offset: parseSize(parts[0]), length: parseSize(parts[1]) };
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} B`;
}

/** 65536 → 64K, 268435456 → 256M */
export function shortSize(n: number): string {
  if (n > 0 && n % MiB === 0) return `${n / MiB}M`;
  if (n > 0 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}
