// Timestamps in the formats the services print.

/** 2016-05-03T10:00:00Z — Nova's server view */
export function isoSeconds(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** 2016-05-03T10:00:00.000000 — Nova's and Cinder's DB timestamps */
export function isoMicros(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
