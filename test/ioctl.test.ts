import t from 'tap';
import { DRM_IOCTL_TYPE, IOC, ioc, iocDecode } from '../src/uapi/ioctl.js';
import { C, CONSTANT_VALUES, IOCTL, IOCTL_BY_NAME, IOCTL_BY_NR, IOCTL_LIST } from '../src/uapi/uapi.js';

/** Request numbers from the spec table (Linux include/uapi/drm/xe_drm.h and drm.h). */
const KNOWN: Record<string, number> = {
  DRM_IOCTL_XE_DEVICE_QUERY: 0xc0286440,
  DRM_IOCTL_XE_GEM_CREATE: 0xc0386441,
  DRM_IOCTL_XE_GEM_MMAP_OFFSET: 0xc0286442,
  DRM_IOCTL_XE_VM_CREATE: 0xc0206443,
  DRM_IOCTL_XE_VM_DESTROY: 0x40186444,
  DRM_IOCTL_XE_VM_BIND: 0x40886445,
  DRM_IOCTL_XE_EXEC_QUEUE_CREATE: 0xc0306446,
  DRM_IOCTL_XE_EXEC_QUEUE_DESTROY: 0x40186447,
  DRM_IOCTL_XE_EXEC_QUEUE_GET_PROPERTY: 0xc0286448,
  DRM_IOCTL_XE_EXEC: 0x40386449,
  DRM_IOCTL_XE_WAIT_USER_FENCE: 0xc048644a,
  DRM_IOCTL_XE_OBSERVATION: 0x4020644b,
  DRM_IOCTL_VERSION: 0xc0406400,
  DRM_IOCTL_GEM_CLOSE: 0x40086409,
  DRM_IOCTL_GET_CAP: 0xc010640c,
};

const DIR_BITS = { none: 0, W: 1, R: 2, RW: 3 } as const;

t.test('ioc() encodes _IOC fields', async (t) => {
  t.equal(ioc('W', DRM_IOCTL_TYPE, 0x45, 0x88), 0x40886445, 'DRM_IOCTL_XE_VM_BIND');
  t.equal(ioc('RW', DRM_IOCTL_TYPE, 0x0c, 16), 0xc010640c, 'DRM_IOCTL_GET_CAP');
  t.equal(ioc('RW', DRM_IOCTL_TYPE, 0x00, 0x40), 0xc0406400, 'DRM_IOCTL_VERSION');
  t.equal(ioc('W', DRM_IOCTL_TYPE, 0x09, 8), 0x40086409, 'DRM_IOCTL_GEM_CLOSE');
  t.equal(ioc('none', DRM_IOCTL_TYPE, 0x1f, 0), 0x641f, '_IO');
  t.equal(ioc('R', 0x54, 0x13, 0x3fff), 0xbfff5413, 'max size, read');
  t.ok(ioc('RW', 0xff, 0xff, 0x3fff) > 0, 'unsigned even with bit 31 set');
  t.equal(ioc('RW', 0xff, 0xff, 0x3fff), 0xffffffff);
  t.throws(() => ioc('W', DRM_IOCTL_TYPE, 0, 0x4000), RangeError, 'size over 14 bits');
});

t.test('iocDecode() splits known requests', async (t) => {
  t.same(iocDecode(0x40886445), { dir: IOC.WRITE, type: 0x64, nr: 0x45, size: 0x88 });
  t.same(iocDecode(0xc010640c), { dir: IOC.READ | IOC.WRITE, type: 0x64, nr: 0x0c, size: 16 });
  t.same(iocDecode(0x641f), { dir: IOC.NONE, type: 0x64, nr: 0x1f, size: 0 });
  // A request passed as a signed 32-bit int (as from C's int) decodes the same.
  t.same(iocDecode(0xc010640c | 0), iocDecode(0xc010640c));
  for (const [name, req] of Object.entries(KNOWN)) {
    const f = iocDecode(req);
    t.equal(ioc((['none', 'W', 'R', 'RW'] as const)[f.dir]!, f.type, f.nr, f.size), req, `${name} re-encodes`);
  }
});

t.test('every table ioctl: request fields match its nr, layout size and direction', async (t) => {
  t.ok(IOCTL_LIST.length > 0);
  for (const io of IOCTL_LIST) {
    const f = iocDecode(io.request);
    t.equal(f.type, 0x64, `${io.name} type`);
    t.equal(f.nr, io.nr, `${io.name} nr`);
    t.equal(f.size, io.layout.size, `${io.name} size`);
    t.equal(f.dir, DIR_BITS[io.dir], `${io.name} dir`);
    t.equal(IOCTL(io.name), io.request, `${io.name} IOCTL()`);
    t.equal(CONSTANT_VALUES.get(io.name), BigInt(io.request), `${io.name} constant`);
    t.equal(IOCTL_BY_NR.get(io.nr), io, `${io.name} by nr`);
    t.equal(IOCTL_BY_NAME.get(io.name), io, `${io.name} by name`);
    if (io.name.startsWith('DRM_IOCTL_XE_')) {
      t.ok(io.nr >= C('DRM_COMMAND_BASE') && io.nr < C('DRM_COMMAND_END'), `${io.name} in the driver range`);
      const nrConst = CONSTANT_VALUES.get(io.name.replace('DRM_IOCTL_', 'DRM_'));
      t.equal(BigInt(io.nr - C('DRM_COMMAND_BASE')), nrConst, `${io.name} = BASE + DRM_XE_*`);
    }
  }
  t.equal(IOCTL_BY_NR.size, IOCTL_LIST.length, 'nr values are unique');
});

t.test('request numbers match the spec table', async (t) => {
  for (const [name, req] of Object.entries(KNOWN)) {
    t.equal(IOCTL_BY_NAME.get(name)?.request, req, `${name} = 0x${req.toString(16)}`);
  }
  const misspelt: string = 'DRM_IOCTL_NO_SUCH';
  t.throws(() => IOCTL(misspelt), /unknown ioctl DRM_IOCTL_NO_SUCH/);
});
