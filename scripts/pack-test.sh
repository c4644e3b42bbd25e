#!/usr/bin/env bash
# Packaging check: `npm pack` the repository, install the tarball into a fresh project (no
# network needed once npm's cache holds the runtime dependencies), then use it the way a
# new user would: an ESM .mjs import, a .ts program type-checked with tsc --strict and run,
# and the `xe-emu` bin through npx. Exits non-zero on the first failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(node -p "require('$root/package.json').version")"

echo "== npm pack"
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$work/xe-emu-$version.tgz"
if tar tzf "$tarball" | grep -E '^package/(dist/)?test/'; then
  echo "pack-test: the tarball contains tests" >&2
  exit 1
fi

echo "== install into a temporary project"
mkdir "$work/app"
cd "$work/app"
printf '{ "name": "xe-emu-pack-test", "private": true, "type": "module" }\n' > package.json
npm install "$tarball" --no-audit --no-fund --prefer-offline --loglevel=error

# A tiny UMD-style program: open the device, GEM_CREATE, decode the handle.
cat > smoke.mjs <<'JS'
import { createDevice, IOCTL, pack, decode, C, layoutOf, libdrm } from 'xe-emu';
const dev = await createDevice();
const p = dev.process;
const fd = p.open();
const size = layoutOf('drm_xe_gem_create').size;
const a = p.mem.alloc(size);
p.mem.write(a, pack('drm_xe_gem_create', { size: 0x10000n, placement: 1, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WB') }));
if (p.ioctl(fd, IOCTL('DRM_IOCTL_XE_GEM_CREATE'), a) !== 0) throw new Error(`GEM_CREATE errno ${p.errno}`);
const { handle } = decode('drm_xe_gem_create', p.mem.read(a, size));
if (handle !== 1) throw new Error(`handle ${handle}`);
if (libdrm.drmGetVersion(p, fd)?.name !== 'xe') throw new Error('drmGetVersion');
await dev.close();
console.log(`mjs: GEM_CREATE handle ${handle}`);
JS
node smoke.mjs

cat > smoke.ts <<'TS'
import { createDevice, IOCTL, pack, decode, C, layoutOf, igt, type Device } from 'xe-emu';

const dev: Device = await createDevice({ profile: 'bmg' });
const p = dev.process;
const fd: number = p.open();
const size = layoutOf('drm_xe_gem_create').size;
const a: bigint = p.mem.alloc(size);
const placement: number = igt.vram_if_possible(p, fd, 0);
p.mem.write(a, pack('drm_xe_gem_create', { size: 0x10000n, placement, cpu_caching: C('DRM_XE_GEM_CPU_CACHING_WC') }));
if (p.ioctl(fd, IOCTL('DRM_IOCTL_XE_GEM_CREATE'), a) !== 0) throw new Error(`GEM_CREATE errno ${p.errno}`);
const handle = decode('drm_xe_gem_create', p.mem.read(a, size)).handle;
if (handle !== 1) throw new Error(`handle ${String(handle)}`);
await dev.close();
console.log(`ts: GEM_CREATE handle ${String(handle)} in VRAM`);
TS
"$root/node_modules/.bin/tsc" --strict --module nodenext --moduleResolution nodenext --target es2022 \
  --types node --typeRoots "$root/node_modules/@types" --outDir out smoke.ts
node out/smoke.js

echo "== npx xe-emu --version"
got="$(npx --no-install xe-emu --version)"
if [ "$got" != "$version" ]; then
  echo "pack-test: xe-emu --version printed '$got', expected '$version'" >&2
  exit 1
fi
echo "xe-emu $got"
echo "pack-test: ok"
