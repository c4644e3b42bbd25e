import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abiCheck, abiJson, formatAbiReport, hasCompiler, type AbiReport, type Finding } from '../src/uapi/abi.js';
import { STRUCT_LAYOUTS } from '../src/uapi/uapi.js';

t.test('abiJson shape and known values', async (t) => {
  const j = abiJson();
  t.same(Object.keys(j).sort(), ['constants', 'structs']);
  for (const [name, s] of Object.entries(j.structs)) {
    t.same(Object.keys(s).sort(), ['align', 'fields', 'size'], `${name} keys`);
    t.ok(Number.isInteger(s.size) && Number.isInteger(s.align), `${name} size/align are integers`);
    for (const [m, v] of Object.entries(s.fields)) {
      if (!(Array.isArray(v) && v.length === 2 && v.every(Number.isInteger))) t.fail(`${name}.${m} is not [offset, size]`);
    }
  }
  for (const [name, v] of Object.entries(j.constants)) {
    if (typeof v !== 'string' || !/^-?\d+$/.test(v)) t.fail(`${name} is not a decimal string`);
  }

  const sync = j.structs.drm_xe_sync;
  t.equal(sync.size, 48);
  t.equal(sync.align, 8);
  t.same(sync.fields.handle, [16, 4]);
  t.same(sync.fields.addr, [16, 8]);
  t.same(sync.fields.reserved, [32, 16]);
  t.notOk('' in sync.fields, 'anonymous unions are flattened');

  const bind = j.structs.drm_xe_vm_bind;
  t.equal(bind.size, 136);
  t.same(bind.fields.bind, [24, 80], 'a struct-typed member is one entry with its whole size');
  t.same(bind.fields.vector_of_binds, [24, 8]);
  t.same(bind.fields.syncs, [112, 8]);
  t.equal(j.structs.drm_xe_vm_bind_op.size, 80);

  t.equal(j.constants.DRM_IOCTL_XE_VM_BIND, '1082680389');
  t.equal(j.constants.DRM_COMMAND_BASE, '64');
  t.equal(j.constants.DRM_XE_VM_BIND_OP_MAP, '0');
  t.same(JSON.parse(JSON.stringify(j)), j, 'round-trips through JSON');
});

// A hand-written stand-in for an (older) xe_drm.h: a few table structs, one with a wrong
// offset, one lacking a member, one whose reserved space the table has reused, a constant
// with a wrong value, one missing, and enumerator constants.
const FAKE_TYPES = `
#ifndef FAKE_TYPES_H
#define FAKE_TYPES_H
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef int __s32;
#endif
`;

const FAKE_DRM = `
#ifndef FAKE_DRM_H
#define FAKE_DRM_H
#include <linux/fake_types.h>
#define _IOC(dir, type, nr, size) (((dir) << 30) | ((type) << 8) | (nr) | ((size) << 16))
#define DRM_IOCTL_BASE 'd'
#define DRM_IOW(nr, type) _IOC(1U, DRM_IOCTL_BASE, nr, sizeof(type))
#define DRM_IOWR(nr, type) _IOC(3U, DRM_IOCTL_BASE, nr, sizeof(type))
#define DRM_COMMAND_BASE 0x40
#define DRM_COMMAND_END 0xA0
/* the pre-6.13 layout: no point member yet, so the struct and its ioctl numbers are smaller */
struct drm_syncobj_handle { __u32 handle; __u32 flags; __s32 fd; __u32 pad; };
#define DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD DRM_IOWR(0xC1, struct drm_syncobj_handle)
#endif
`;

function fakeXe(opts: { broken: boolean; oaUnit: boolean }): string {
  return `
#ifndef FAKE_XE_DRM_H
#define FAKE_XE_DRM_H
#include "drm.h"

#define DRM_XE_VM_BIND 0x05
#define DRM_IOCTL_XE_VM_BIND DRM_IOW(DRM_COMMAND_BASE + DRM_XE_VM_BIND, struct drm_xe_vm_bind)

/* ${opts.broken ? 'name and pad swapped: wrong offsets' : 'correct'} */
struct drm_xe_user_extension {
  __u64 next_extension;
  ${opts.broken ? '__u32 pad; __u32 name;' : '__u32 name; __u32 pad;'}
};

enum fake_sync_type { DRM_XE_SYNC_TYPE_SYNCOBJ, DRM_XE_SYNC_TYPE_TIMELINE_SYNCOBJ, DRM_XE_SYNC_TYPE_USER_FENCE };
#define DRM_XE_SYNC_FLAG_SIGNAL (1 << ${opts.broken ? 1 : 0})

struct drm_xe_sync {
  __u64 extensions;
  __u32 type;
  __u32 flags;
  union { __u32 handle; __u64 addr; };
  __u64 timeline_value;
  __u64 reserved[2];
};

/* no cpu_addr_mirror_offset */
struct drm_xe_vm_bind_op {
  __u64 extensions;
  __u32 obj;
  __u16 pat_index;
  __u16 pad;
  union { __u64 obj_offset; __u64 userptr; };
  __u64 range;
  __u64 addr;
  __u32 op;
  __u32 flags;
  __u32 prefetch_mem_region_instance;
  __u32 pad2;
  __u64 reserved[3];
};
#define DRM_XE_VM_BIND_OP_MAP 0x0
#define DRM_XE_VM_BIND_OP_UNMAP 0x1
#define DRM_XE_VM_BIND_FLAG_READONLY (1 << 0)
/* DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR missing */

/* syncs not yet carved out of reserved */
struct drm_xe_vm_bind {
  __u64 extensions;
  __u32 vm_id;
  __u32 exec_queue_id;
  __u32 pad;
  __u32 num_binds;
  union { struct drm_xe_vm_bind_op bind; __u64 vector_of_binds; };
  __u32 pad2;
  __u32 num_syncs;
  __u64 reserved[3];
};
${
  opts.oaUnit
    ? `
struct drm_xe_engine_class_instance { __u16 engine_class; __u16 engine_instance; __u16 gt_id; __u16 pad; };
/* before gt_id and reserved1 were carved out of reserved */
struct drm_xe_oa_unit {
  __u64 extensions;
  __u32 oa_unit_id;
  __u32 oa_unit_type;
  __u64 capabilities;
  __u64 oa_timestamp_freq;
  __u64 reserved[4];
  __u64 num_engines;
  struct drm_xe_engine_class_instance eci[];
};`
    : ''
}
#endif
`;
}

function writeFake(dir: string, opts: { broken: boolean; oaUnit: boolean }): string {
  mkdirSync(join(dir, 'include', 'drm'), { recursive: true });
  mkdirSync(join(dir, 'include', 'linux'), { recursive: true });
  writeFileSync(join(dir, 'include', 'linux', 'fake_types.h'), FAKE_TYPES);
  writeFileSync(join(dir, 'include', 'drm', 'drm.h'), FAKE_DRM);
  const header = join(dir, 'include', 'drm', 'xe_drm.h');
  writeFileSync(header, fakeXe(opts));
  return header;
}

const has = (list: Finding[], pred: (f: Finding) => boolean): boolean => list.some(pred);
const about = (r: AbiReport, pred: (f: Finding) => boolean): Finding[] =>
  [...r.mismatches, ...r.notInHeader, ...r.reservedReused].filter(pred);

const oaLayout = STRUCT_LAYOUTS.get('drm_xe_oa_unit');
const oaUnit =
  oaLayout !== undefined &&
  STRUCT_LAYOUTS.has('drm_xe_engine_class_instance') &&
  oaLayout.members.some((m) => m.name === 'gt_id');

const compiler = hasCompiler();
t.test('abiCheck classifies a synthetic header', { skip: compiler ? false : 'no C compiler (cc / $CC) on this machine' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xe-emu-abi-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const header = writeFake(join(dir, 'broken'), { broken: true, oaUnit });
  const r = abiCheck(header);
  t.comment(formatAbiReport(r));

  // Wrong offsets.
  t.ok(has(r.mismatches, (f) => f.struct === 'drm_xe_user_extension' && f.member === 'name' && f.property === 'offset' && f.table === '8' && f.header === '12'), 'wrong offset is a mismatch');
  t.ok(has(r.mismatches, (f) => f.struct === 'drm_xe_user_extension' && f.member === 'pad' && f.property === 'offset'), 'a moved pad is a mismatch, not reuse');
  // Wrong constant value.
  t.ok(has(r.mismatches, (f) => f.constant === 'DRM_XE_SYNC_FLAG_SIGNAL' && f.property === 'value' && f.table === '1' && f.header === '2'), 'wrong constant value is a mismatch');
  // Missing member, constant and struct.
  t.ok(has(r.notInHeader, (f) => f.struct === 'drm_xe_vm_bind_op' && f.member === 'cpu_addr_mirror_offset'), 'missing member');
  t.ok(has(r.notInHeader, (f) => f.constant === 'DRM_XE_VM_BIND_FLAG_CPU_ADDR_MIRROR'), 'missing constant');
  t.ok(has(r.notInHeader, (f) => f.what === 'struct' && f.struct === 'drm_get_cap'), 'missing struct');
  t.ok(has(r.notInHeader, (f) => f.constant === 'DRM_IOCTL_GET_CAP'), 'ioctl of a missing struct');
  // Reserved space reused: syncs lies in the header's reserved[3]; the table's reserved[2] too.
  t.ok(has(r.reservedReused, (f) => f.struct === 'drm_xe_vm_bind' && f.member === 'syncs'), 'member inside header reserved space');
  t.ok(has(r.reservedReused, (f) => f.struct === 'drm_xe_vm_bind' && f.member === 'reserved'), 'shrunk reserved');
  t.same(about(r, (f) => f.struct === 'drm_xe_vm_bind' && f.kind !== 'reserved-reused'), [], 'drm_xe_vm_bind has nothing else');
  // Correct items: a struct with an anonymous union, enumerator constants, an ioctl macro.
  t.same(about(r, (f) => f.struct === 'drm_xe_sync'), [], 'drm_xe_sync matches');
  t.same(about(r, (f) => f.constant?.startsWith('DRM_XE_SYNC_TYPE_') ?? false), [], 'enumerators are found');
  t.same(about(r, (f) => f.constant === 'DRM_IOCTL_XE_VM_BIND' || f.constant === 'DRM_COMMAND_BASE'), [], 'macros match');
  t.same(about(r, (f) => f.struct === 'drm_xe_vm_bind_op' && f.member !== 'cpu_addr_mirror_offset'), [], 'rest of drm_xe_vm_bind_op matches');
  if (oaUnit) {
    t.ok(has(r.reservedReused, (f) => f.struct === 'drm_xe_oa_unit' && f.member === 'gt_id'), 'gt_id was carved out of reserved');
    t.same(r.mismatches.filter((f) => f.struct === 'drm_xe_oa_unit'), [], 'drm_xe_oa_unit has no mismatch');
  }
  // A struct that only grew at its end (older header): not in header, with its ioctl number.
  t.ok(has(r.notInHeader, (f) => f.struct === 'drm_syncobj_handle' && f.member === 'point'), 'appended member');
  t.ok(has(r.notInHeader, (f) => f.struct === 'drm_syncobj_handle' && f.property === 'size' && f.table === '24' && f.header === '16'), 'grown struct size');
  t.ok(has(r.notInHeader, (f) => f.constant === 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD' && f.property === 'value'), 'its ioctl number');
  t.same(r.mismatches.filter((f) => f.struct === 'drm_syncobj_handle' || f.constant === 'DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD'), [], 'growth is no mismatch');
  t.equal(r.ok, false, 'mismatches fail');
  t.equal(r.counts.mismatches, r.mismatches.length, 'counts');
  t.ok(r.compileRuns > 1, 'failing probes were dropped and the program recompiled');

  const good = writeFake(join(dir, 'good'), { broken: false, oaUnit });
  const ok = abiCheck(good);
  t.same(ok.mismatches, [], 'no mismatch in the corrected header');
  t.equal(ok.ok, true, 'not-in-header and reuse do not fail by default');
  t.ok(ok.notInHeader.length > 0 && ok.reservedReused.length > 0, 'still lists what the header lacks and reuse');
  const strict = abiCheck(good, { strict: true });
  t.equal(strict.ok, false, '--strict fails on not-in-header and reuse');
});
