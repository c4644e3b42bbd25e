// The fake-offset space allocator (drm_vma_manager.c over drm_mm.c, DRM_MM_INSERT_BEST), on
// a small range so that exhaustion and fragmentation are reachable.
import t from 'tap';
import {
  DRM_FILE_PAGE_OFFSET_SIZE, DRM_FILE_PAGE_OFFSET_START, MMAP_OFFSET_BASE, VmaOffsetManager,
} from '../src/kernel/drm/drm_vma_manager.js';
import { Errno } from '../src/kernel/os/errno.js';
import { ENOSPC } from '../src/uapi/errno.js';

const P = 4096n;

function enospc(f: () => unknown): boolean {
  try {
    f();
  } catch (e) {
    return e instanceof Errno && e.errno === ENOSPC;
  }
  return false;
}

t.test('the 64-bit range: 4 GiB start, 0xFFFFF00 pages', async (t) => {
  t.equal(DRM_FILE_PAGE_OFFSET_START, 0x100000n);
  t.equal(DRM_FILE_PAGE_OFFSET_SIZE, 0xfffff00n);
  t.equal(MMAP_OFFSET_BASE, 0x1_0000_0000n);
  const m = new VmaOffsetManager<string>();
  t.equal(m.freePages, 0xfffff00n);
  t.ok(enospc(() => m.add('x', 0xffff_ffff_0000_0000n)), 'IGT massive size (-1ULL << 32) -> ENOSPC');
  t.equal(m.add('a', 1n), 0x1_0000_0000n, 'a partial page takes one page');
  t.equal(m.add('b', 4096n * 0xffffeffn), 0x1_0000_1000n, 'the rest of the space fits exactly');
  t.equal(m.freePages, 0n);
  t.ok(enospc(() => m.add('c', 1n)), 'full -> ENOSPC');
});

t.test('fragmentation: enough free pages but no hole big enough -> ENOSPC; size 0 -> ENOSPC', async (t) => {
  const m = new VmaOffsetManager<string>(16n, 8n);
  const at = (s: string, pages: bigint): bigint => m.add(s, pages * P) / P;
  t.same([at('a', 2n), at('b', 2n), at('c', 2n), at('d', 2n)], [16n, 18n, 20n, 22n]);
  t.ok(enospc(() => m.add('e', 1n)), 'full');
  m.remove(18n * P);
  m.remove(22n * P);
  t.equal(m.freePages, 4n, '4 pages free in two holes');
  t.ok(enospc(() => m.add('e', 3n * P)), 'no 3-page hole -> ENOSPC');
  t.ok(enospc(() => m.add('e', 0n)), 'size 0 -> ENOSPC');
  t.equal(m.lookup(18n * P), undefined, 'removed ranges are not found');
  t.equal(m.lookup(20n * P), 'c', 'exact start');
  t.equal(m.lookup(21n * P), undefined, 'not the middle of a range');
  m.remove(20n * P);
  t.equal(at('e', 6n), 18n, 'holes merged across the removed range: 6 pages at 18');
  t.equal(m.freePages, 0n);
});
