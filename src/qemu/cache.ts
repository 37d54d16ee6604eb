// A drive's cache mode (-drive cache=…, libvirt's <driver cache=…>) as block.c's
// bdrv_parse_cache_mode splits it into three flags. What the flags change here:
//   writeback=false  the guest's writes are flushed one by one (write-through);
//   no-flush=true    bdrv_co_flush returns at once ("don't actually force it to the disk
//                    with cache=unsafe"): no fdatasync, no flush_to_disk event;
//   direct=true      O_DIRECT in QEMU. Node offers no aligned buffers for O_DIRECT, so the
//                    page cache is not bypassed; the flushes (the durability points) are
//                    the same as QEMU's (README, Fidelity).
export type CacheMode = 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';

export const CACHE_MODES: readonly CacheMode[] = ['none', 'writeback', 'writethrough', 'directsync', 'unsafe'];

/** query-block's "cache" object */
export interface CacheFlags {
  writeback: boolean;
  direct: boolean;
  'no-flush': boolean;
}

/** bdrv_parse_cache_mode; QEMU's default (no cache= given) is writeback */
export function cacheFlags(mode: CacheMode = 'writeback'): CacheFlags {
  switch (mode) {
    case 'none':
      return { writeback: true, direct: true, 'no-flush': false };
    case 'writeback':
      return { writeback: true, direct: false, 'no-flush': false };
    case 'writethrough':
      return { writeback: false, direct: false, 'no-flush': false };
    case 'directsync':
      return { writeback: false, direct: true, 'no-flush': false };
    case 'unsafe':
      return { writeback: true, direct: false, 'no-flush': true };
  }
}
