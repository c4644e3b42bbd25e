#!/usr/bin/env bash
# Fetches Debian's linux-libc-dev 6.12 (bookworm-backports) into a private cache folder and
# prints the path of the unpacked include/drm/xe_drm.h on stdout (everything else goes to
# stderr). Nothing is installed system-wide and no system apt state is touched: the source
# list, package lists and caches all live under the cache folder.
#
# The archive's address is never written into this repository: it is derived from the
# machine's own Debian apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list
# and deb822 *.sources). Set XE_EMU_DEBIAN_MIRROR to a Debian archive URI to override.
#
# usage: scripts/fetch-kernel-header.sh [cache-dir]
#   cache-dir defaults to $XE_EMU_HEADER_CACHE, else <repo>/.cache/kernel-header
#   XE_EMU_HEADER_SUITE    suite to fetch from       (default bookworm-backports)
#   XE_EMU_HEADER_VERSION  required upstream version prefix (default 6.12)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${1:-${XE_EMU_HEADER_CACHE:-$repo/.cache/kernel-header}}"
suite="${XE_EMU_HEADER_SUITE:-bookworm-backports}"
want="${XE_EMU_HEADER_VERSION:-6.12}"
pkg=linux-libc-dev

log() { printf 'fetch-kernel-header: %s\n' "$*" >&2; }
die() {
  {
    printf '\n'
    printf '########################################################################\n'
    printf '## fetch-kernel-header: ERROR\n'
    printf '## %s\n' "$@"
    printf '########################################################################\n'
  } >&2
  exit 1
}

for tool in apt-get apt-cache dpkg-deb dpkg; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found (a Debian-based system is needed)"
done

arch="$(dpkg --print-architecture)"

# ---- Derive a Debian archive URI (and its keyring) from the machine's apt sources.
# Prints "URI<TAB>SIGNED-BY" for every enabled 'deb' entry, one-line and deb822 formats,
# skipping security archives (they carry no backports suite).
list_sources() {
  local f
  shopt -s nullglob
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '
      /^[[:space:]]*deb[[:space:]]/ {
        opts = ""; i = 2
        if ($2 ~ /^\[/) {
          while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
        }
        uri = $i; suite = $(i + 1)
        sb = ""
        if (match(opts, /signed-by=[^] ]+/)) sb = substr(opts, RSTART + 10, RLENGTH - 10)
        print uri "\t" sb "\t" suite
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && tolower(enabled) != "no" && uris != "") {
          n = split(uris, u, /[[:space:]]+/); m = split(suites, s, /[[:space:]]+/)
          for (a = 1; a <= n; a++) if (u[a] != "") for (b = 1; b <= m; b++) if (s[b] != "")
            print u[a] "\t" signed "\t" s[b]
        }
        types = ""; uris = ""; suites = ""; signed = ""; enabled = ""; key = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]/ { next }                      # continuation line (e.g. inline key)
      {
        key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[[:space:]]*/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = val
        else if (key == "signed-by") signed = val
      }
      END { flush() }' "$f"
  done
}

# apt's name for a source's files under /var/lib/apt/lists.
lists_name() { printf '%s' "$1" | sed -E 's#^[a-z0-9+]+://##; s#/+$##; s#/#_#g'; }
# True when uri+suite is the Debian archive: its cached Release says so, or the URI path ends
# in /debian (the archive's conventional path on every mirror).
is_debian_archive() {
  local base
  base="/var/lib/apt/lists/$(lists_name "$1")_dists_$2"
  grep -qs -E '^Origin: Debian$' "${base}_InRelease" "${base}_Release" && return 0
  case "$1" in */debian | */debian/) return 0 ;; esac
  return 1
}

mirror="${XE_EMU_DEBIAN_MIRROR:-}"
keyring=""
if [ -z "$mirror" ]; then
  while IFS=$'\t' read -r uri sb s; do
    case "$s" in *security* | */*) continue ;; esac
    case "$uri" in *security*) continue ;; esac
    if is_debian_archive "$uri" "$s"; then
      mirror="$uri"
      case "$sb" in /*) keyring="$sb" ;; esac
      break
    fi
  done < <(list_sources)
fi
[ -n "$mirror" ] || die "no Debian archive found in /etc/apt/sources.list{,.d/*} to derive the $suite source from" \
  "(set XE_EMU_DEBIAN_MIRROR to a Debian archive URI)"

# ---- A private apt configuration under the cache folder.
aptdir="$cache/apt"
mkdir -p "$aptdir/sources.list.d" "$aptdir/preferences.d" "$aptdir/lists/partial" \
  "$aptdir/cache/archives/partial" "$cache/deb"
cache="$(cd "$cache" && pwd)"
aptdir="$cache/apt"
opts=""
[ -n "$keyring" ] && [ -r "$keyring" ] && opts=" [signed-by=$keyring]"
printf 'deb%s %s %s main\n' "$opts" "$mirror" "$suite" >"$aptdir/sources.list"
: >"$aptdir/preferences"
apt_opts=(
  -o "Dir::Etc::SourceList=$aptdir/sources.list"
  -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
  -o "Dir::Etc::Preferences=$aptdir/preferences"
  -o "Dir::Etc::PreferencesParts=$aptdir/preferences.d"
  -o "Dir::State::Lists=$aptdir/lists"
  -o "Dir::Cache=$aptdir/cache"
  -o "Dir::Cache::archives=$aptdir/cache/archives"
  -o "Dir::Cache::pkgcache=$aptdir/cache/pkgcache.bin"
  -o "Dir::Cache::srcpkgcache=$aptdir/cache/srcpkgcache.bin"
  -o "APT::Architecture=$arch"
  -o "Acquire::Languages=none"
)
# apt drops privileges to _apt for downloads; that user cannot write to a private folder.
[ "$(id -u)" = 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")

log "source: $suite main from the machine's Debian archive ($arch)"
if ! apt-get "${apt_opts[@]}" -q update >"$aptdir/update.log" 2>&1; then
  cat "$aptdir/update.log" >&2
  die "apt-get update of $suite failed: the Debian archive could not be reached" "log: $aptdir/update.log"
fi
if grep -q -E '^(W|E): ' "$aptdir/update.log"; then
  cat "$aptdir/update.log" >&2
  die "apt-get update of $suite reported errors: the Debian archive could not be reached" "log: $aptdir/update.log"
fi

version="$(apt-cache "${apt_opts[@]}" show "$pkg:$arch" 2>/dev/null | awk '/^Version: /{print $2}' | sort -V | tail -1 || true)"
[ -n "$version" ] || version="$(apt-cache "${apt_opts[@]}" show "$pkg" 2>/dev/null | awk '/^Version: /{print $2}' | sort -V | tail -1 || true)"
[ -n "$version" ] || die "$pkg is not available from $suite"
case "$version" in
  "$want".*|"$want"-*|"$want"~*|"$want"+*) ;;
  *) die "$suite offers $pkg $version, but $want is required" ;;
esac
log "$pkg $version"

root="$cache/$pkg-$version"
header="$root/usr/include/drm/xe_drm.h"
if [ ! -f "$header" ]; then
  rm -f "$cache/deb/${pkg}_"*.deb
  if ! (cd "$cache/deb" && apt-get "${apt_opts[@]}" -q download "$pkg=$version" >&2); then
    die "apt-get download of $pkg $version failed: the Debian archive could not be reached"
  fi
  deb="$(ls "$cache/deb/${pkg}_"*.deb 2>/dev/null | head -1 || true)"
  [ -n "$deb" ] || die "apt-get download produced no .deb for $pkg $version"
  rm -rf "$root.tmp"
  dpkg-deb -x "$deb" "$root.tmp"
  rm -rf "$root"
  mv "$root.tmp" "$root"
  [ -f "$header" ] || die "$pkg $version has no usr/include/drm/xe_drm.h"
fi
printf '%s\n' "$header"
