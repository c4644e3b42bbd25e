import t from 'tap';
import { encodeLayout, pack, type FieldsIn } from '../src/uapi/codec.js';
import { formatIoctl, formatLayout, formatRequest, formatStruct } from '../src/uapi/format.js';
import { layoutStruct } from '../src/uapi/layout.js';
import { IOCTL, STRUCT_LAYOUTS, layoutOf } from '../src/uapi/uapi.js';
import { char, inner, s32, st, struct, u16, u32, u64, union } from '../src/uapi/types.js';

const EXAMPLE =
  'DRM_IOCTL_XE_VM_BIND {vm_id=1, exec_queue_id=0, num_binds=1, bind={obj=3, pat_index=2, obj_offset=0, ' +
  'range=0x10000, addr=0x1a0000, op=MAP, flags=READONLY|0x100}, num_syncs=1, syncs=0x7f0000001000}';

function vmBind(over: FieldsIn = {}, bind: FieldsIn = {}): Uint8Array {
  return pack('drm_xe_vm_bind', {
    vm_id: 1, exec_queue_id: 0, num_binds: 1, num_syncs: 1, syncs: 0x7f0000001000n,
    bind: { obj: 3, pat_index: 2, obj_offset: 0, range: 0x10000, addr: 0x1a0000, op: 0, flags: 0x101, ...bind },
    ...over,
  });
}

t.test('the reference example, exactly', async (t) => {
  const bytes = vmBind();
  t.equal(formatIoctl(IOCTL('DRM_IOCTL_XE_VM_BIND'), bytes), EXAMPLE);
  t.equal(formatStruct('drm_xe_vm_bind', bytes), EXAMPLE.slice('DRM_IOCTL_XE_VM_BIND '.length));
  // A larger buffer and an offset give the same text.
  const big = new Uint8Array(bytes.length + 16);
  big.set(bytes, 16);
  t.equal(formatStruct('drm_xe_vm_bind', big, 16), EXAMPLE.slice('DRM_IOCTL_XE_VM_BIND '.length));
  t.equal(formatIoctl(IOCTL('DRM_IOCTL_XE_VM_BIND'), new Uint8Array([...bytes, 1, 2, 3])), EXAMPLE);
});

t.test('inline-or-pointer union follows the count', async (t) => {
  const s = formatStruct('drm_xe_vm_bind', vmBind({ num_binds: 2, vector_of_binds: 0x7f0000002000n }));
  t.equal(s, '{vm_id=1, exec_queue_id=0, num_binds=2, vector_of_binds=0x7f0000002000, num_syncs=1, syncs=0x7f0000001000}');
  t.match(formatStruct('drm_xe_vm_bind', vmBind({ num_binds: 0 })), /num_binds=0, bind=\{obj=3,/);
  // Any struct of that shape gets the rule, found through the num_<member>s sibling.
  const resolve = layoutOf;
  const l = layoutStruct(
    struct('fmt_items', [u32('num_items'), u32('pad'), union([st('drm_get_cap', 'item'), u64('items', { hex: true, ptr: 'drm_get_cap' })])]),
    resolve,
  );
  const b = new Uint8Array(l.size);
  encodeLayout(l, { num_items: 1, item: { capability: 0x13, value: 1 } }, b);
  t.equal(formatLayout(l, b), '{num_items=1, item={capability=SYNCOBJ, value=1}}');
  encodeLayout(l, { num_items: 3, items: 0x5000 }, b);
  t.equal(formatLayout(l, b), '{num_items=3, items=0x5000}');
});

t.test('flags: names joined with |, unknown bits in hex, 0 as 0', async (t) => {
  const f = (flags: number): string => formatStruct('drm_xe_sync', pack('drm_xe_sync', { flags }));
  t.match(f(1), /flags=SIGNAL,/);
  t.match(f(3), /flags=SIGNAL\|0x2,/);
  t.match(f(0x80000000), /flags=0x80000000,/);
  t.match(f(0), /flags=0,/);
  t.match(formatStruct('drm_xe_vm_bind', vmBind({}, { flags: 0x3f })), /flags=READONLY\|IMMEDIATE\|NULL\|DUMPABLE\|CHECK_PXP\|CPU_ADDR_MIRROR\}/);
});

t.test('enums: short names, unknown values as numbers', async (t) => {
  t.match(formatStruct('drm_xe_sync', pack('drm_xe_sync', { type: 2 })), /^\{type=USER_FENCE,/);
  t.match(formatStruct('drm_xe_sync', pack('drm_xe_sync', { type: 7 })), /^\{type=7,/);
  t.match(formatStruct('drm_xe_vm_bind', vmBind({}, { op: 99 })), /op=99,/);
  t.match(formatStruct('drm_xe_vm_bind', vmBind({}, { op: 0xffffffff })), /op=4294967295,/);
  t.equal(formatStruct('drm_get_cap', pack('drm_get_cap', { capability: 0x14, value: 1 })), '{capability=SYNCOBJ_TIMELINE, value=1}');
  t.equal(formatStruct('drm_get_cap', pack('drm_get_cap', { capability: 0x99 })), '{capability=153, value=0}');
});

t.test('unions: members of different widths all print, aliases once', async (t) => {
  t.equal(
    formatStruct('drm_xe_sync', pack('drm_xe_sync', { type: 0, flags: 1, handle: 5 })),
    '{type=SYNCOBJ, flags=SIGNAL, handle=5, addr=0x5, timeline_value=0}',
  );
  t.equal(
    formatStruct('drm_xe_sync', pack('drm_xe_sync', { type: 2, addr: 0x100000000n + 0x20n, timeline_value: 9 })),
    '{type=USER_FENCE, flags=0, handle=32, addr=0x100000020, timeline_value=9}',
  );
  // obj_offset/userptr/cpu_addr_mirror_offset alias: the first stands for all...
  const s = formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { obj_offset: 0x2000, op: 1 }));
  t.equal(s, '{obj=0, pat_index=0, obj_offset=0x2000, range=0, addr=0, op=UNMAP, flags=0}');
  // ...unless the op/flags select another member.
  t.match(
    formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { userptr: 0x7f00dead0000n, op: 2 })),
    /pat_index=0, userptr=0x7f00dead0000, range=/,
  );
  t.match(
    formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { cpu_addr_mirror_offset: -4096, flags: 0x20 })),
    /pat_index=0, cpu_addr_mirror_offset=-4096, range=/,
  );
});

t.test('union selected by an enum: drm_xe_madvise', async (t) => {
  const m = (type: number, fields: FieldsIn): string =>
    formatStruct('drm_xe_madvise', pack('drm_xe_madvise', { vm_id: 1, start: 0x100000, range: 0x2000, type, ...fields }));
  t.match(m(0, { preferred_mem_loc: { devmem_fd: 3 } }), /, preferred_mem_loc=\{devmem_fd=3, [^}]*\}\}$/);
  t.match(m(1, { atomic: { val: 2 } }), /vm_id=1, type=\w+, atomic=\{val=\w+\}\}$/);
  t.match(m(2, { pat_index: { val: 2 } }), /vm_id=1, type=\w+, pat_index=\{val=2\}\}$/);
  t.match(m(3, { purge_state_val: { val: 1, retained_ptr: 0x7000 } }), /, purge_state_val=\{val=\w+, retained_ptr=0x7000\}\}$/);
  // An unknown type falls back to the alias rule: the first member stands for all.
  t.match(m(77, { pat_index: { val: 2 } }), /type=77, preferred_mem_loc=\{devmem_fd=2, [^}]*\}\}$/);
});

t.test('conditional member: prefetch_mem_region_instance', async (t) => {
  t.notMatch(formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { op: 0 })), /prefetch/);
  t.match(formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { op: 4 })), /op=PREFETCH, flags=0, prefetch_mem_region_instance=0\}/);
  t.match(
    formatStruct('drm_xe_vm_bind_op', pack('drm_xe_vm_bind_op', { op: 0, prefetch_mem_region_instance: 2 })),
    /op=MAP, flags=0, prefetch_mem_region_instance=2\}/,
    'non-zero is shown whatever the op',
  );
});

t.test('non-zero pad, reserved and extensions are shown', async (t) => {
  const s = formatStruct(
    'drm_xe_vm_bind',
    vmBind({ extensions: 0x1000, pad: 7, pad2: 1, reserved: [0, 1] }, { pad: 3, pad2: 4, reserved: [0, 0, 5], extensions: 0x10 }),
  );
  t.equal(
    s,
    '{extensions=0x1000, vm_id=1, exec_queue_id=0, pad=7, num_binds=1, bind={extensions=0x10, obj=3, pat_index=2, pad=3, ' +
      'obj_offset=0, range=0x10000, addr=0x1a0000, op=MAP, flags=READONLY|0x100, pad2=4, reserved=[0, 0, 5]}, pad2=1, ' +
      'num_syncs=1, syncs=0x7f0000001000, reserved=[0, 1]}',
  );
  t.match(formatStruct('drm_xe_sync', pack('drm_xe_sync', { reserved: [9, 0] })), /reserved=\[9, 0\]\}$/);
  t.match(formatStruct('drm_xe_user_extension', pack('drm_xe_user_extension', { name: 1, pad: 2 })), '{next_extension=0, name=1, pad=2}');
});

t.test('generic printing: arrays of structs, chars, signed, named groups, flex', async (t) => {
  const l = layoutStruct(
    struct('fmt_misc', [
      s32('delta'),
      s32('neg_hex', { hex: true }),
      char('label', { count: 8 }),
      st('drm_get_cap', 'caps', { count: 2 }),
      inner([u16('lo'), u16('hi', { hex: true })], 'half'),
      union([u32('a'), u32('b')], 'alias'),
      union([inner([u32('x'), u32('pad')]), u64('reserved')]),
      u64('tail', { count: 'flex' }),
    ]),
    layoutOf,
  );
  const b = new Uint8Array(l.size + 16);
  encodeLayout(l, {
    delta: -5, neg_hex: -16, label: [...'xe\0'].map((c) => c.charCodeAt(0)),
    caps: [{ capability: 0x13, value: 1 }, { capability: 0x14, value: 0 }],
    half: { lo: 1, hi: 0xff }, alias: { a: 4 }, x: 6,
  }, b);
  t.equal(
    formatLayout(l, b),
    '{delta=-5, neg_hex=-0x10, label="xe", caps=[{capability=SYNCOBJ, value=1}, {capability=SYNCOBJ_TIMELINE, value=0}], ' +
      'half={lo=1, hi=0xff}, alias={a=4}, x=6}',
  );
  t.throws(() => formatLayout(l, new Uint8Array(4)), {
    name: 'BufferError',
    message: 'fmt_misc: needs 64 bytes at offset 0, buffer has 4',
  });
});

t.test('every struct formats from zeroed and patterned bytes', async (t) => {
  for (const [name, l] of STRUCT_LAYOUTS) {
    const z = formatStruct(name, new Uint8Array(l.size));
    t.match(z, /^\{.*\}$/, `${name} zeroed`);
    const p = new Uint8Array(l.size).map((_, i) => (i * 37 + 11) & 0xff);
    t.match(formatStruct(name, p), /^\{.*\}$/, `${name} patterned`);
  }
});

t.test('unknown and short requests', async (t) => {
  t.equal(
    formatIoctl(0xc0286499, new Uint8Array([0, 1, 0xab])),
    'ioctl(0xc0286499 /* _IOC(_IOC_READ|_IOC_WRITE, 0x64, 0x99, 0x28) */) {00 01 ab}',
  );
  t.equal(formatIoctl(0x5401, new Uint8Array()), 'ioctl(0x5401 /* _IOC(_IOC_NONE, 0x54, 0x1, 0x0) */) {}');
  t.equal(formatRequest(0x80047476), '_IOC(_IOC_READ, 0x74, 0x76, 0x4)');
  t.equal(
    formatIoctl(0x40906445, new Uint8Array([1])),
    'ioctl(0x40906445 /* _IOC(_IOC_WRITE, 0x64, 0x45, 0x90); DRM_IOCTL_XE_VM_BIND is 0x40886445 */) {01}',
    'a known nr with another size names the table ioctl',
  );
  t.equal(
    formatIoctl(IOCTL('DRM_IOCTL_GET_CAP'), new Uint8Array([0x13, 0])),
    'DRM_IOCTL_GET_CAP {<2 of 16 bytes: 13 00>}',
  );
  t.equal(formatIoctl(IOCTL('DRM_IOCTL_GET_CAP') | 0, pack('drm_get_cap', { capability: 0x13 })), 'DRM_IOCTL_GET_CAP {capability=SYNCOBJ, value=0}');
});
