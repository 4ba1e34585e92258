#!/usr/bin/env bash
# The offline lab: host packages, a Debian kernel with its NIC modules, node_modules, and an
# isolated Nix configuration directory. Idempotent and quiet when everything is already in place.
# It never edits /etc/nix: tests point NIX_CONF_DIR at .lab/nix-conf (tests/helpers/lab.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

LAB="$PWD/.lab"
PACKAGES=(nix-bin qemu-system-x86 qemu-utils xorriso isolinux syslinux-common busybox-static
  dropbear-bin cpio openssh-client ovmf grub-pc-bin grub-efi-amd64-bin grub-common mtools zstd
  python3-minimal) # python3: the socketImage fixture binds a unix socket with it
# The guest's NICs: virtio-net needs the virtio PCI transport too; e1000 is the fallback. Their
# dependencies are resolved from the modules themselves (Debian 12: failover net_failover
# virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci, in load order).
NIC_MODULES=(virtio_pci virtio_net e1000)

say() { echo "setup-lab: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- host packages -------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  say "host packages present"
fi

# ---- kernel and NIC modules ----------------------------------------------------------------------
KERNEL="$LAB/kernel"
if [ -f "$KERNEL/.done" ]; then
  say "kernel $(cat "$KERNEL/version") present"
else
  mkdir -p "$LAB/cache"
  # linux-image-amd64 is a metapackage: the real one is the linux-image-<abi>-amd64 it depends on.
  pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
  if [ -z "$pkg" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
  fi
  [ -n "$pkg" ] || { echo "setup-lab: cannot find the package linux-image-amd64 depends on" >&2; exit 1; }
  deb=$(ls "$LAB/cache/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    say "downloading $pkg"
    # As root, apt's _apt sandbox user cannot write into .lab/cache: download as root, quietly.
    sandbox=()
    [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
    (cd "$LAB/cache" && apt-get download -q "${sandbox[@]}" "$pkg" >/dev/null)
    deb=$(ls "$LAB/cache/${pkg}_"*.deb | head -n1)
  fi
  tmp=$(mktemp -d "$LAB/kernel.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/x" "$tmp/ko" "$tmp/out/modules"
  # One pass over the 400 MB data tarball (~3.5 s): the kernel, modules.builtin and the module
  # directories the NICs and their dependencies live in (/lib or /usr/lib, .ko or compressed).
  patterns=('./boot/vmlinuz-*')
  for root in './lib/modules/*' './usr/lib/modules/*'; do
    patterns+=("$root/modules.builtin")
    for dir in drivers/virtio drivers/net drivers/net/ethernet/intel/e1000 net/core lib lib/*; do
      patterns+=("$root/kernel/$dir/*.ko*")
    done
  done
  # Patterns that match nothing (the other /lib layout) make tar complain: checked below instead.
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$tmp/x" --wildcards --no-wildcards-match-slash "${patterns[@]}" 2>/dev/null || true
  vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
  [ -n "$vmlinuz" ] || { echo "setup-lab: no vmlinuz in $deb" >&2; exit 1; }
  find_ko() { find "$tmp/x" -name "$(echo "$1" | sed 's/_/[_-]/g').ko*" | head -n1; }
  builtin() { cat "$tmp"/x/*lib/modules/*/modules.builtin 2>/dev/null | sed 's/-/_/g' | grep -q "/$1\.ko$"; }
  # The closure of the NIC modules, from the depends= field of each module's .modinfo.
  todo=("${NIC_MODULES[@]}")
  while [ "${#todo[@]}" -gt 0 ]; do
    m=${todo[0]}
    todo=("${todo[@]:1}")
    [ ! -e "$tmp/ko/$m.ko" ] || continue
    f=$(find_ko "$m")
    if [ -z "$f" ]; then
      builtin "$m" && continue
      # Not in the usual directories: look it up in the whole package (one more pass, rare).
      member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t |
        grep -E "/kernel/.*/$(echo "$m" | sed 's/_/[_-]/g')\.ko(\.xz|\.zst|\.gz)?$" | head -n1 || true)
      [ -n "$member" ] || { echo "setup-lab: kernel module $m not found in $deb" >&2; exit 1; }
      dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" "$member"
      f="$tmp/x/$member"
    fi
    case "$f" in
      *.ko.xz) xz -dc "$f" >"$tmp/ko/$m.ko" ;;
      *.ko.zst) zstd -q -dc "$f" >"$tmp/ko/$m.ko" ;;
      *.ko.gz) gzip -dc "$f" >"$tmp/ko/$m.ko" ;;
      *) cp "$f" "$tmp/ko/$m.ko" ;;
    esac
    tr '\0' '\n' <"$tmp/ko/$m.ko" | sed -n 's/^depends=//p' | head -n1 | tr ',' '\n' |
      sed 's/-/_/g; /^$/d' >"$tmp/ko/$m.deps"
    mapfile -t -O "${#todo[@]}" todo <"$tmp/ko/$m.deps"
  done
  # Load order: every module after its dependencies.
  visit() {
    [ -e "$tmp/ko/$1.ko" ] && [ ! -e "$tmp/ko/$1.seen" ] || return 0
    touch "$tmp/ko/$1.seen"
    local d
    for d in $(cat "$tmp/ko/$1.deps"); do visit "$d"; done
    cp "$tmp/ko/$1.ko" "$tmp/out/modules/$1.ko"
    echo "$1" >>"$tmp/out/modules/order"
  }
  : >"$tmp/out/modules/order"
  for m in "${NIC_MODULES[@]}"; do visit "$m"; done
  cp "$vmlinuz" "$tmp/out/vmlinuz"
  basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$tmp/out/version"
  touch "$tmp/out/.done"
  rm -rf "$KERNEL"
  mv "$tmp/out" "$KERNEL"
  rm -rf "$tmp"
  trap - EXIT
  say "kernel $(cat "$KERNEL/version") with modules: $(tr '\n' ' ' <"$KERNEL/modules/order")"
fi

# ---- node_modules --------------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
else
  say "node_modules up to date"
fi

# ---- isolated Nix configuration (NIX_CONF_DIR) ---------------------------------------------------
CONF="$LAB/nix-conf"
mkdir -p "$CONF"
registry='{"flakes":[],"version":2}'
[ "$(cat "$CONF/registry.json" 2>/dev/null || true)" = "$registry" ] || echo "$registry" >"$CONF/registry.json"
conf="experimental-features = nix-command flakes
build-users-group =
substituters =
sandbox = false
flake-registry = $CONF/registry.json"
if [ "$(cat "$CONF/nix.conf" 2>/dev/null || true)" != "$conf" ]; then
  echo "$conf" >"$CONF/nix.conf"
  say "wrote $CONF/nix.conf"
else
  say "nix config in $CONF"
fi
