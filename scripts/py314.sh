#!/usr/bin/env bash
# The repository's version of the team tool ../shared/tools/py314.sh, used by scripts/setup when
# ../shared is absent.
# py314.sh DEST [VENV]
#
# Make a private, runnable CPython 3.14 (Debian sid build) on a Debian 12 (bookworm)
# machine without touching the system: no change to /etc/apt, no package installed
# system-wide, the system libc6 left alone.
#
#  * apt-get is pointed at a private sources.list for sid (signed-by the
#    debian-archive-keyring already on the machine) with private lists/cache dirs;
#  * the dependency closure of python3.14 (+ python3.14-venv, libstdc++6, patchelf)
#    is computed by apt's own resolver against an empty dpkg status, data/config-only
#    packages are dropped, and the rest is fetched with `apt-get download`;
#  * every .deb is unpacked with `dpkg -x` into DEST/root (sid's own libc6 2.4x
#    included);
#  * sid's patchelf, run through the private dynamic loader, rewrites
#    DEST/root/usr/bin/python3.14 so that its ELF interpreter is DEST/root's
#    ld-linux-x86-64.so.2 and its DT_RPATH (not RUNPATH: RPATH also covers the
#    extension modules that python dlopens) is DEST/root/usr/lib/x86_64-linux-gnu;
#  * sysconfig's WHEEL_PKG_DIR is pointed at DEST/root/usr/share/python-wheels, so
#    `python3.14 -m venv` bootstraps sid's pip instead of the host's older
#    /usr/share/python-wheels/pip-*.whl (which crashes on 3.14).
#
# The result is not relocatable (absolute paths are baked in): run the script again
# for another DEST. If VENV is given, a venv with pip is created there as well.
# Idempotent: a second run with a working DEST only re-checks it. Needs: bash,
# apt-get, dpkg, network access to a Debian archive (not with PY314_DEBS).
# Works as root or not.
# The last line printed on stdout is the interpreter's path.
#
# Knobs (environment): PY314_MIRROR (default: the Debian archive this machine's apt already uses,
# see debian_mirror; a machine may only reach its own mirror or proxy),
# PY314_SUITE (default sid), PY314_KEYRING (default the debian-archive-keyring file),
# PY314_PYVER (default 3.14), PY314_FORCE=1 to rebuild DEST/root from scratch,
# PY314_DEBS=DIR to build from .debs saved earlier (a copy of DEST/debs) instead of
# asking the archive (sid moves every day; keeping the ~18 MB of .debs pins the build).
set -euo pipefail

log() { printf '[py314] %s\n' "$*" >&2; }
die() { printf '[py314] ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DEST [VENV]"
mkdir -p "$1"
DEST=$(cd "$1" && pwd -P)
VENV=${2:-}
case "$DEST" in *:*|*' '*) die "DEST must not contain ':' or spaces (it ends up in an ELF rpath)";; esac

# The Debian archive apt is configured with, as apt itself reports it (one-line .list and deb822
# .sources files alike): a repository whose Release file says "Label: Debian" (not Debian-Security),
# or, while apt has no lists yet, the first repository URI whose path ends in /debian.
debian_mirror() {
  local uri
  uri=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Label: Debian' \
    2>/dev/null | head -n 1) || true
  if [ -z "$uri" ]; then
    uri=$(apt-get indextargets --no-release-info --format '$(REPO_URI)' 'Identifier: Packages' \
      2>/dev/null | grep -m 1 '/debian/\?$') || true
  fi
  [ -n "$uri" ] && printf '%s\n' "${uri%/}"
}
if [ -n "${PY314_MIRROR:-}" ]; then
  MIRROR=$PY314_MIRROR
elif [ -z "${PY314_DEBS:-}" ]; then
  command -v apt-get >/dev/null || die "apt-get not found"
  MIRROR=$(debian_mirror) || die "no Debian archive in this machine's apt sources: set PY314_MIRROR"
  log "Debian archive from the apt sources: $MIRROR"
fi
SUITE=${PY314_SUITE:-sid}
KEYRING=${PY314_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
PYVER=${PY314_PYVER:-3.14}
ARCH=amd64
TRIPLET=x86_64-linux-gnu

ROOT=$DEST/root
LIBDIR=$ROOT/usr/lib/$TRIPLET
LDSO=$LIBDIR/ld-linux-x86-64.so.2
PY=$ROOT/usr/bin/python$PYVER
STAMP=$DEST/.py314-ok

[ "$(uname -m)" = x86_64 ] || die "only x86_64 is handled"
command -v dpkg >/dev/null || die "dpkg not found"

check_python() {
  [ -x "$PY" ] || return 1
  "$PY" - <<'EOF' >/dev/null 2>&1
import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib, hashlib, decimal, uuid, zoneinfo, venv, ensurepip
assert sys.version_info >= (3, 14, 2), sys.version
ctypes.CDLL(None)
ssl.create_default_context()
EOF
}

build_root() {
  local t0=$SECONDS
  if [ -n "${PY314_DEBS:-}" ]; then
    # Offline / pinned mode: use .debs kept from an earlier run (e.g. a copy of DEST/debs).
    ls "$PY314_DEBS"/*.deb >/dev/null 2>&1 || die "PY314_DEBS=$PY314_DEBS has no .deb files"
    mkdir -p "$DEST/debs"
    if [ "$(cd "$PY314_DEBS" && pwd -P)" != "$DEST/debs" ]; then
      rm -f "$DEST"/debs/*.deb
      cp "$PY314_DEBS"/*.deb "$DEST/debs/"
    fi
    log "using $(ls "$DEST"/debs/*.deb | wc -l) .debs from $PY314_DEBS (no apt-get)"
  else
    fetch_debs
  fi
  extract_and_patch
  log "root built in $((SECONDS - t0)) s ($(du -sh "$ROOT" | cut -f1))"
}

fetch_debs() {
  local A=$DEST/apt
  command -v apt-get >/dev/null || die "apt-get not found"
  [ -r "$KEYRING" ] || die "keyring $KEYRING not readable (package debian-archive-keyring)"
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$DEST/debs"
  echo "deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $SUITE main" > "$A/sources.list"
  : > "$A/empty-status"
  APTOPTS=(
    -o "Dir::Etc::SourceList=$A/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State::Lists=$A/lists"
    -o "Dir::Cache=$A/cache"
    -o "APT::Architecture=$ARCH"
    -o "APT::Architectures::=$ARCH"
    -o "Acquire::Languages=none"
  )
  [ "$(id -u)" = 0 ] && APTOPTS+=(-o "APT::Sandbox::User=root")

  log "apt-get update ($SUITE, private lists under $A)"
  apt-get "${APTOPTS[@]}" -q update >&2

  # Dependency closure, resolved by apt itself as if nothing were installed.
  local want=("python$PYVER" "python$PYVER-venv" libstdc++6 patchelf)
  mapfile -t pkgs < <(
    apt-get "${APTOPTS[@]}" -o "Dir::State::status=$A/empty-status" -o Debug::NoLocking=1 \
      install -s --no-install-recommends "${want[@]}" 2>/dev/null |
    awk '$1 == "Inst" {print $2}' |
    grep -vxE 'debconf|cdebconf|tzdata|netbase|readline-common|openssl|ca-certificates|openssl-provider-legacy|gcc-[0-9]+-base|libc-gconv-modules-extra|perl-base|dpkg|install-info' || true
  )
  [ "${#pkgs[@]}" -gt 5 ] || die "could not resolve python$PYVER in $SUITE (got: ${pkgs[*]:-nothing})"
  printf '%s\n' "${pkgs[@]}" | grep -qx libc6 || pkgs+=(libc6)
  log "packages: ${pkgs[*]}"

  log "apt-get download (${#pkgs[@]} packages) into $DEST/debs"
  rm -f "$DEST"/debs/*.deb
  (cd "$DEST/debs" && apt-get "${APTOPTS[@]}" -q download "${pkgs[@]}" >&2)
  log "download size: $(du -ch "$DEST"/debs/*.deb | tail -1 | cut -f1)"
}

extract_and_patch() {
  log "dpkg -x into $ROOT"
  rm -rf "$ROOT.tmp"
  mkdir -p "$ROOT.tmp"
  local d
  for d in "$DEST"/debs/*.deb; do dpkg -x "$d" "$ROOT.tmp"; done
  rm -rf "$ROOT"
  mv "$ROOT.tmp" "$ROOT"
  [ -x "$LDSO" ] || die "no dynamic loader at $LDSO"

  log "patchelf: interpreter=$LDSO rpath=$LIBDIR"
  cp -p "$PY" "$PY.orig"
  # sid's patchelf runs through the private loader (it needs the new libc too).
  # patchelf 0.18.0 writes a binary that segfaults when --set-interpreter and
  # --set-rpath are given in one call; rpath first, then interpreter, works.
  # Each strategy is checked by running the result; the next one is tried if it fails.
  local pe=("$LDSO" --library-path "$LIBDIR" "$ROOT/usr/bin/patchelf") ok=0 s
  for s in split pagesize combined; do
    cp -p "$PY.orig" "$PY"
    case $s in
      split)    "${pe[@]}" --force-rpath --set-rpath "$LIBDIR" "$PY" &&
                "${pe[@]}" --set-interpreter "$LDSO" "$PY" ;;
      pagesize) "${pe[@]}" --page-size 65536 --set-interpreter "$LDSO" \
                  --force-rpath --set-rpath "$LIBDIR" "$PY" ;;
      combined) "${pe[@]}" --set-interpreter "$LDSO" --force-rpath --set-rpath "$LIBDIR" "$PY" ;;
    esac || continue
    if "$PY" -c 'import ssl, ctypes' >/dev/null 2>&1; then ok=1; log "patchelf strategy '$s' works"; break; fi
    log "patchelf strategy '$s' gave a binary that does not run; trying the next one"
  done
  [ $ok = 1 ] || die "could not produce a working patched python"

  # Debian's ensurepip takes pip from WHEEL_PKG_DIR (/usr/share/python-wheels): on a
  # bookworm host that is pip 23.0.1, which does not run on 3.14. Use sid's wheels.
  local f
  for f in "$ROOT/usr/lib/python$PYVER"/_sysconfigdata_*.py; do
    sed -i "s#'/usr/share/python-wheels/\?'#'$ROOT/usr/share/python-wheels/'#" "$f"
  done
}

if [ "${PY314_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && check_python; then
  log "already set up: $("$PY" -VV 2>&1 | head -1)"
else
  rm -f "$STAMP"
  build_root
  check_python || { "$PY" -c 'import ssl, sqlite3, ctypes' || true; die "patched python does not work"; }
  date -u +%FT%TZ > "$STAMP"
  log "ok: $("$PY" -VV 2>&1 | head -1)"
fi

if [ -n "$VENV" ]; then
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -m pip --version >/dev/null 2>&1 &&
     [ "$("$VENV/bin/python" -c 'import sys; print(sys._base_executable)')" = "$PY" ]; then
    log "venv $VENV already there"
  else
    log "creating venv $VENV"
    "$PY" -m venv --clear "$VENV" >&2
    "$VENV/bin/python" -m pip --version >&2
  fi
fi

echo "$PY"
