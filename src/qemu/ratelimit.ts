// include/qemu/ratelimit.h as block jobs use it: a quota of bytes per 100 ms slice; bytes
// are charged after they are dispatched, and a job that overdraws sleeps it off.

export const SLICE_MS = 100;

export class RateLimit {
  private sliceQuota = 0;
  private sliceStart = 0;
  private sliceEnd = 0;
  private dispatched = 0;

  /** ratelimit_set_speed: speed in bytes/s, 0 = unlimited */
  setSpeed(speed: number): void {
    this.sliceQuota = speed > 0 ? Math.max((speed * SLICE_MS) / 1000, 1) : 0;
  }

  get enabled(): boolean {
    return this.sliceQuota > 0;
  }

  /** ratelimit_calculate_delay: charge n bytes; milliseconds to wait before dispatching more */
  calculateDelay(n: number, now = performance.now()): number {
    if (!this.enabled) return 0;
    if (this.sliceEnd < now) {
      // the previous (possibly extended) slice is over: start accounting afresh
      this.sliceStart = now;
      this.sliceEnd = now + SLICE_MS;
      this.dispatched = 0;
    }
    this.dispatched += n;
    if (this.dispatched < this.sliceQuota) return 0;
    // over quota: wait for the excess, then start a new slice
    const slices = this.dispatched / this.sliceQuota;
    this.sliceEnd = this.sliceStart + slices * SLICE_MS;
    return this.sliceEnd - now;
  }
}
