#!/usr/bin/env bash
# The offline lab: host packages, a distribution kernel with its NIC modules, node_modules, and an
# isolated Nix configuration directory. Idempotent and quiet when everything is already in place.
# Runs on Debian (as root, as on the project's machines) and on Ubuntu 24.04 as a user with sudo
# (GitHub's runner): sudo only for apt, the Nix daemon's trusted users and the --systemd rootfs.
# As root it never edits /etc/nix: tests point NIX_CONF_DIR at .lab/nix-conf (tests/helpers/lab.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

LAB="$PWD/.lab"
# --systemd (or BOOT_IMAGE_VM_LAB_SYSTEMD=1): also the Debian systemd root filesystem in .lab/rootfs
# for the fixture's systemdImage (debootstrap from the host's apt mirror: root, ~40-60 s, once).
SYSTEMD=${BOOT_IMAGE_VM_LAB_SYSTEMD:-}
# --aarch64 (or BOOT_IMAGE_VM_LAB_AARCH64=1): also an arm64 guest's parts in .lab/aarch64 for the
# fixture's aarch64Image (Debian's arm64 packages; Debian hosts only, see below).
AARCH64=${BOOT_IMAGE_VM_LAB_AARCH64:-}
# Set only by this script when it re-runs itself under sudo for the --systemd rootfs alone.
ROOTFS_ONLY=${BOOT_IMAGE_VM_LAB_ROOTFS_ONLY:-}
for arg in "$@"; do
  case "$arg" in
    --systemd) SYSTEMD=1 ;;
    --aarch64) AARCH64=1 ;;
    *) echo "usage: scripts/setup-lab.sh [--systemd] [--aarch64]" >&2 && exit 2 ;;
  esac
done
PACKAGES=(nix-bin qemu-system-x86 qemu-utils xorriso isolinux syslinux-common busybox-static
  dropbear-bin cpio openssh-client ovmf grub-pc-bin grub-efi-amd64-bin grub-common mtools zstd
  python3-minimal) # python3: the socketImage fixture binds a unix socket with it
# openssh-server: tests/helpers/ssh-builder.ts starts its own sshd (a Nix remote builder); the
# service itself is not needed (it binds 127.0.N.M:22 of its own, so a running one must not hold *:22).
PACKAGES+=(openssh-server)
# openssl: the e2e tests' throw-away CA for Azurite's *.blob.core.windows.net (azure-blob-endpoint.ts).
PACKAGES+=(openssl)
# The guest's NICs: virtio-net needs the virtio PCI transport too; e1000 is the fallback. Their
# dependencies are resolved from the modules themselves (Debian 12: failover net_failover
# virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci, in load order).
NIC_MODULES=(virtio_pci virtio_net e1000)
[ -z "$SYSTEMD" ] || PACKAGES+=(debootstrap squashfs-tools)
# Not root: Nix cannot write /nix itself, so builds go through the daemon the package sets up.
[ "$(id -u)" -eq 0 ] || PACKAGES+=(nix-setup-systemd)

say() { echo "setup-lab: $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The packages holding the guest's kernel and its modules. Debian: the linux-image-<abi>-amd64
# that the linux-image-amd64 metapackage depends on (modules inside). Ubuntu: the
# linux-image-<version>-generic that linux-image-generic depends on, whose modules ship apart in
# linux-modules-<version> (.ko.zst). Prints nothing when apt knows neither.
kernel_packages() {
  local image version
  image=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
  if [ -n "$image" ]; then
    echo "$image"
    return 0
  fi
  image=$(apt-cache depends linux-image-generic 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-\(unsigned-\)\?[0-9].*-generic\)$/\1/p' | head -n1)
  [ -n "$image" ] || return 0
  version=${image#linux-image-}
  echo "$image linux-modules-${version#unsigned-}"
}

# The package's .deb in .lab/cache, downloaded (not installed: its hooks would run) when missing.
# A name with an architecture (busybox-static:arm64) finds only that architecture's .deb.
cached_deb() {
  local deb arch=${1#*:}
  # No :arch given: any architecture (a glob, so $arch stays unquoted in the patterns below).
  [ "$arch" != "$1" ] || arch='*'
  deb=$(ls "$LAB/cache/${1%%:*}_"*_$arch.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    say "downloading $1" >&2
    # As root, apt's _apt sandbox user cannot write into .lab/cache: download as root, quietly.
    local sandbox=()
    [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
    (cd "$LAB/cache" && apt-get download -q "${sandbox[@]}" "$1" >/dev/null)
    deb=$(ls "$LAB/cache/${1%%:*}_"*_$arch.deb | head -n1)
  fi
  echo "$deb"
}

# kernel_dir OUT DEB...: the kernel (vmlinuz, version) and the NIC modules' closure in load order
# (modules/*.ko, modules/order) from the kernel's packages, for any architecture.
kernel_dir() {
  local out=$1 tmp vmlinuz patterns root dir m f member deb
  shift
  local debs=("$@") todo
  tmp=$(mktemp -d "$out.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/x" "$tmp/ko" "$tmp/out/modules"
  # One pass over each package (~3.5 s for Debian's 400 MB): the kernel, modules.builtin and the
  # module directories the NICs and their dependencies live in (/lib or /usr/lib, .ko or compressed).
  patterns=('./boot/vmlinuz-*')
  for root in './lib/modules/*' './usr/lib/modules/*'; do
    patterns+=("$root/modules.builtin")
    for dir in drivers/virtio drivers/net drivers/net/ethernet/intel/e1000 net/core lib lib/*; do
      patterns+=("$root/kernel/$dir/*.ko*")
    done
  done
  # Patterns that match nothing (the other /lib layout, or the image-only package) make tar
  # complain: checked below instead.
  for deb in "${debs[@]}"; do
    dpkg-deb --fsys-tarfile "$deb" |
      tar -x -C "$tmp/x" --wildcards --no-wildcards-match-slash "${patterns[@]}" 2>/dev/null || true
  done
  vmlinuz=$(ls "$tmp"/x/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
  [ -n "$vmlinuz" ] || { echo "setup-lab: no vmlinuz in ${debs[*]}" >&2; exit 1; }
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
      member=
      for deb in "${debs[@]}"; do
        member=$(dpkg-deb --fsys-tarfile "$deb" | tar -t |
          grep -E "/kernel/.*/$(echo "$m" | sed 's/_/[_-]/g')\.ko(\.xz|\.zst|\.gz)?$" | head -n1 || true)
        [ -z "$member" ] || break
      done
      [ -n "$member" ] || { echo "setup-lab: kernel module $m not found in ${debs[*]}" >&2; exit 1; }
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
  # Ubuntu ships it mode 0600; Nix's build users must read it.
  chmod 0644 "$tmp/out/vmlinuz"
  # The packages the modules came from, for the --systemd rootfs below.
  for deb in "${debs[@]}"; do basename "$deb"; done >"$tmp/out/debs"
  basename "$vmlinuz" | sed 's/^vmlinuz-//' >"$tmp/out/version"
  touch "$tmp/out/.done"
  rm -rf "$out"
  mv "$tmp/out" "$out"
  rm -rf "$tmp"
  trap - EXIT
}

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
  packages=$(kernel_packages)
  if [ -z "$packages" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    packages=$(kernel_packages)
  fi
  [ -n "$packages" ] || {
    echo "setup-lab: no kernel package: neither linux-image-amd64 (Debian) nor linux-image-generic (Ubuntu) is known to apt" >&2
    exit 1
  }
  debs=()
  for pkg in $packages; do debs+=("$(cached_deb "$pkg")"); done
  kernel_dir "$KERNEL" "${debs[@]}"
  say "kernel $(cat "$KERNEL/version") with modules: $(tr '\n' ' ' <"$KERNEL/modules/order")"
fi

# ---- optional (--aarch64): an arm64 guest's parts, for the fixture's aarch64Image ----------------
# From Debian's arm64 packages (`dpkg --add-architecture arm64`; Ubuntu serves arm64 from
# ports.ubuntu.com, which its sources do not name, so Debian hosts only), downloaded into
# .lab/cache and extracted with dpkg -x, never installed: the arm64 binaries only run in the guest.
# Host packages: QEMU's aarch64 emulator and AAVMF (UEFI for arm64). .lab/aarch64/: kernel/ (as
# .lab/kernel: Debian's arm64 kernel has virtio and virtio_ring built in, virtio_pci and
# virtio_net as modules), guest/ (bin/busybox, sbin/dropbear, bin/dropbearkey, the loader and the
# libraries readelf names, at their paths), grub/ (GRUB's arm64-efi modules), .done.
AARCH64_RECIPE=1
AARCH64_GUEST_PACKAGES=(busybox-static dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10
  zlib1g grub-efi-arm64-bin)
if [ -n "$AARCH64" ] && [ -z "$ROOTFS_ONLY" ]; then
  A64="$LAB/aarch64"
  if [ "$(cat "$A64/.done" 2>/dev/null || true)" = "recipe-$AARCH64_RECIPE" ]; then
    say "aarch64 guest parts (kernel $(cat "$A64/kernel/version")) present"
  elif [ "$(. /etc/os-release && echo "$ID")" != debian ]; then
    # The aarch64 tests skip, saying so, without .lab/aarch64.
    say "aarch64 guest parts skipped: they come from Debian's arm64 packages (this host is not Debian)"
  else
    missing=()
    for p in qemu-system-arm qemu-efi-aarch64 binutils; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      say "adding the arm64 architecture to dpkg (for apt-get download only)"
      as_root dpkg --add-architecture arm64
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
      say "installing ${missing[*]}"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    fi
    mkdir -p "$LAB/cache"
    image=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\)\(:arm64\)\?$/\1/p' | head -n1)
    [ -n "$image" ] || { echo "setup-lab: apt knows no linux-image-arm64:arm64" >&2; exit 1; }
    kernel_dir "$A64.kernel" "$(cached_deb "$image:arm64")"
    tmp=$(mktemp -d "$A64.XXXXXX")
    trap 'rm -rf "$tmp" "$A64.kernel"' EXIT
    for p in "${AARCH64_GUEST_PACKAGES[@]}"; do dpkg -x "$(cached_deb "$p:arm64")" "$tmp/x"; done
    guest="$tmp/out/guest"
    mkdir -p "$guest/bin" "$guest/sbin" "$guest/lib/aarch64-linux-gnu"
    cp "$tmp/x/bin/busybox" "$guest/bin/busybox"
    cp "$tmp/x/usr/sbin/dropbear" "$guest/sbin/dropbear"
    cp "$tmp/x/usr/bin/dropbearkey" "$guest/bin/dropbearkey"
    # The shared libraries' closure from the ELF files' NEEDED entries; the loader at the path
    # the binaries ask for (/lib/ld-linux-aarch64.so.1), the rest where Debian's loader looks.
    todo=("$guest/sbin/dropbear" "$guest/bin/dropbearkey")
    while [ "${#todo[@]}" -gt 0 ]; do
      for lib in $(readelf -d "${todo[0]}" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
        case "$lib" in ld-linux-*) dest="$guest/lib/$lib" ;; *) dest="$guest/lib/aarch64-linux-gnu/$lib" ;; esac
        [ ! -e "$dest" ] || continue
        found=$(find "$tmp/x" -name "$lib" \( -type f -o -type l \) | head -n1)
        [ -n "$found" ] || { echo "setup-lab: $lib (needed by ${todo[0]##*/}) is in none of ${AARCH64_GUEST_PACKAGES[*]}" >&2; exit 1; }
        cp -L "$found" "$dest"
        todo+=("$dest")
      done
      todo=("${todo[@]:1}")
    done
    cp -a "$tmp/x/usr/lib/grub/arm64-efi" "$tmp/out/grub"
    mv "$A64.kernel" "$tmp/out/kernel"
    echo "recipe-$AARCH64_RECIPE" >"$tmp/out/.done"
    rm -rf "$A64"
    mv "$tmp/out" "$A64"
    rm -rf "$tmp"
    trap - EXIT
    say "aarch64 guest parts: kernel $(cat "$A64/kernel/version") with modules: $(tr '\n' ' ' <"$A64/kernel/modules/order")"
  fi
fi

# ---- node_modules --------------------------------------------------------------------------------
if [ -n "$ROOTFS_ONLY" ]; then
  : # the sudo re-run for the rootfs: node_modules and the Nix configuration stay the user's
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
else
  say "node_modules up to date"
fi

# ---- isolated Nix configuration (NIX_CONF_DIR) ---------------------------------------------------
if [ -z "$ROOTFS_ONLY" ]; then
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
  # Not root (a runner): builds go through the daemon, which takes the settings above (sandbox,
  # build users) from a client only when it trusts it.
  user=$(id -un)
  if [ "$(id -u)" -ne 0 ] && ! grep -qE "^trusted-users *=.* $user( |$)" /etc/nix/nix.conf 2>/dev/null; then
    say "adding $user to the Nix daemon's trusted-users (sudo)"
    echo "trusted-users = root $user" | sudo tee -a /etc/nix/nix.conf >/dev/null
    sudo systemctl restart nix-daemon.service || sudo systemctl restart nix-daemon.socket
  fi
fi

# ---- optional (--systemd): a Debian root filesystem with systemd and openssh ---------------------
# For the fixture's systemdImage, which proves the default probes on a real systemd guest.
# .lab/rootfs/: rootfs.squashfs (debootstrap minbase + systemd, openssh-server, networkd, resolved,
# trimmed, the kernel's module closure under /lib/modules), initrd-modules/*.ko + order (what the
# ISO's busybox initramfs loads to mount the CD, the squashfs and the overlay), suite, kernel-version,
# .done (the stamp below). No key in here: the fixture bakes root's key in when it builds the ISO.
# Rebuilt only when the suite, the kernel or ROOTFS_RECIPE changes (bump it when editing this part).
ROOTFS_RECIPE=2
# The guest's modules (closure by modprobe --show-depends): NICs, disks, CD, filesystems, and what
# systemd's modprobe@ units and udev ask for.
GUEST_MODULES=(virtio_pci virtio_net virtio_blk virtio_scsi virtio_console virtio_rng e1000 ata_piix
  ata_generic ahci sr_mod sd_mod cdrom isofs squashfs overlay loop autofs4 ext4 vfat configfs fuse
  dm_mod efi_pstore qemu_fw_cfg i2c_piix4 evdev serio_raw)
# (No drm/bochs: a framebuffer console only slows a TCG boot; screenshots show VGA text mode.)
INITRD_MODULES=(ata_piix ahci sr_mod isofs squashfs overlay loop)
if [ -n "$SYSTEMD" ]; then
  ROOTFS="$LAB/rootfs"
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$suite" ] || { echo "setup-lab: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }
  kver=$(cat "$KERNEL/version")
  stamp="debian-$suite kernel-$kver recipe-$ROOTFS_RECIPE"
  if [ "$(cat "$ROOTFS/.done" 2>/dev/null || true)" = "$stamp" ]; then
    say "systemd rootfs ($stamp) present"
  elif [ "$(id -u)" -ne 0 ]; then
    # debootstrap, chroot and the root-owned tree need root: this part alone runs under sudo.
    say "the systemd rootfs needs root: building it under sudo"
    sudo env BOOT_IMAGE_VM_LAB_ROOTFS_ONLY=1 \
      ${BOOT_IMAGE_VM_LAB_MIRROR:+BOOT_IMAGE_VM_LAB_MIRROR="$BOOT_IMAGE_VM_LAB_MIRROR"} \
      bash "$PWD/scripts/setup-lab.sh" --systemd
    sudo chown -R "$(id -u):$(id -g)" "$ROOTFS"
  else
    # The mirror apt already uses (deb822 .sources or one-line .list), never the security one.
    mirror=${BOOT_IMAGE_VM_LAB_MIRROR:-$(
      {
        sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
        sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
          /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
      } | grep -v -e security -e '^$' | grep -E '^(https?|file):' | head -n1 || true
    )}
    mirror=${mirror:-http://deb.debian.org/debian}
    # The kernel's packages (Ubuntu: the image and linux-modules-<version>); a kernel set up
    # before that list was kept is Debian's one package.
    if [ -f "$KERNEL/debs" ]; then
      mapfile -t debs < <(sed "s|^|$LAB/cache/|" "$KERNEL/debs")
    else
      debs=("$(ls "$LAB/cache/"linux-image-*"_"*.deb | grep -F "linux-image-${kver}_" | head -n1)")
    fi
    mkdir -p "$LAB/cache/debootstrap"
    tmp=$(mktemp -d "$LAB/rootfs.XXXXXX")
    # debootstrap mounts proc/sys inside the target: unmount anything left before deleting.
    cleanup() {
      { findmnt -rn -o TARGET | grep -F "$tmp/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
      rm -rf --one-file-system "$tmp"
    }
    trap cleanup EXIT
    dir="$tmp/root"
    say "debootstrap $suite from $mirror (about a minute)"
    started=$(date +%s)
    as_root debootstrap --variant=minbase --cache-dir="$LAB/cache/debootstrap" \
      --include=systemd,systemd-sysv,udev,dbus,kmod,openssh-server,iproute2,systemd-resolved,procps,iputils-ping \
      "$suite" "$dir" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
      tail -n 30 "$tmp/debootstrap.log" >&2
      echo "setup-lab: debootstrap failed (log above)" >&2
      exit 1
    }
    say "debootstrap took $(($(date +%s) - started)) s"

    # Kernel modules: the whole tree from the .deb into the chroot's /tmp (one pass), then the
    # guest's own kmod computes the closure, so the host needs no kmod.
    mkdir -p "$dir/tmp/k"
    for deb in "${debs[@]}"; do
      dpkg-deb --fsys-tarfile "$deb" |
        tar -x -C "$dir/tmp/k" --wildcards './lib/modules/*' './usr/lib/modules/*' 2>/dev/null || true
    done
    kmods=$(ls -d "$dir"/tmp/k/lib/modules/"$kver" "$dir"/tmp/k/usr/lib/modules/"$kver" 2>/dev/null | head -n1 || true)
    [ -n "$kmods" ] || { echo "setup-lab: no modules for $kver in ${debs[*]}" >&2; exit 1; }
    if [ "$kmods" != "$dir/tmp/k/lib/modules/$kver" ]; then
      mkdir -p "$dir/tmp/k/lib/modules" && mv "$kmods" "$dir/tmp/k/lib/modules/$kver"
    fi
    # Whichever of /lib/modules and /usr/lib/modules the guest's kmod reads (merged /usr).
    rm -rf "$dir/tmp/k/usr" && mkdir -p "$dir/tmp/k/usr/lib" && ln -s ../../lib/modules "$dir/tmp/k/usr/lib/modules"
    chroot "$dir" depmod -b /tmp/k "$kver"
    depends() { chroot "$dir" modprobe -d /tmp/k -S "$kver" --show-depends "$@" | sed -n 's/^insmod \/tmp\/k\/*\(usr\/\)\?\([^ ]*\).*/\2/p'; }
    : >"$tmp/guest.list"
    for m in "${GUEST_MODULES[@]}"; do depends "$m" >>"$tmp/guest.list" || say "no module $m (skipped)"; done
    sort -u "$tmp/guest.list" | while read -r f; do
      # f: lib/modules/<kver>/kernel/…; usr/lib/… in the merged-/usr guest is the same place.
      mkdir -p "$dir/usr/$(dirname "$f")"
      cp "$dir/tmp/k/$f" "$dir/usr/$f"
    done
    for f in modules.order modules.builtin modules.builtin.modinfo; do
      [ ! -e "$dir/tmp/k/lib/modules/$kver/$f" ] || cp "$dir/tmp/k/lib/modules/$kver/$f" "$dir/usr/lib/modules/$kver/"
    done
    mkdir -p "$tmp/out/initrd-modules"
    : >"$tmp/out/initrd-modules/order"
    for m in "${INITRD_MODULES[@]}"; do depends "$m"; done | awk '!seen[$0]++' | while read -r f; do
      name=$(basename "$f" | sed 's/\.ko\(\.xz\|\.zst\|\.gz\)\?$//; s/-/_/g')
      case "$f" in
        *.ko.xz) xz -dc "$dir/tmp/k/$f" ;;
        *.ko.zst) zstd -q -dc "$dir/tmp/k/$f" ;;
        *.ko.gz) gzip -dc "$dir/tmp/k/$f" ;;
        *) cat "$dir/tmp/k/$f" ;;
      esac >"$tmp/out/initrd-modules/$name.ko"
      echo "$name" >>"$tmp/out/initrd-modules/order"
    done
    rm -rf "$dir/tmp/k"
    chroot "$dir" depmod "$kver"

    # Guest configuration (everything but root's key, which the fixture adds per build).
    echo boot-image-vm >"$dir/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 boot-image-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$dir/etc/hosts"
    : >"$dir/etc/fstab"
    echo 'LANG=C.UTF-8' >"$dir/etc/default/locale"
    # An empty machine-id: systemd makes one per boot (so every boot is a first boot: firstboot
    # would wait on the console forever, hence masked below).
    : >"$dir/etc/machine-id"
    mkdir -p "$dir/var/lib/dbus" && ln -sf /etc/machine-id "$dir/var/lib/dbus/machine-id"
    mkdir -p "$dir/etc/ssh/sshd_config.d"
    printf '%s\n' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
      'KbdInteractiveAuthentication no' 'UseDNS no' >"$dir/etc/ssh/sshd_config.d/boot-image-vm.conf"
    mkdir -p "$dir/etc/systemd/network"
    printf '%s\n' '[Match]' 'Name=en* eth*' '' '[Network]' 'DHCP=yes' \
      >"$dir/etc/systemd/network/80-boot-image-vm.network"
    chroot "$dir" systemctl enable -q systemd-networkd.service systemd-resolved.service ssh.service
    chroot "$dir" systemctl mask -q systemd-firstboot.service
    for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
      chroot "$dir" systemctl disable -q "$t" 2>/dev/null || true
    done
    ln -sf /run/systemd/resolve/stub-resolv.conf "$dir/etc/resolv.conf"
    mkdir -p "$dir/root/.ssh" && chmod 0700 "$dir/root" "$dir/root/.ssh"
    # Trim: apt lists and caches, docs, man pages, locales (293 MB -> ~150 MB).
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
      "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/tmp/*

    say "squashfs of the rootfs ($(du -sh "$dir" | cut -f1))"
    # (squashfs-tools 4.5 warns about the journal's ACL xattrs, which it skips: only real errors shown)
    mksquashfs "$dir" "$tmp/out/rootfs.squashfs" -comp zstd -noappend -quiet -no-progress \
      >/dev/null 2>"$tmp/mksquashfs.log" || {
      cat "$tmp/mksquashfs.log" >&2
      exit 1
    }
    echo "$suite" >"$tmp/out/suite"
    echo "$kver" >"$tmp/out/kernel-version"
    echo "$stamp" >"$tmp/out/.done"
    rm -rf "$ROOTFS"
    mv "$tmp/out" "$ROOTFS"
    cleanup
    trap - EXIT
    say "systemd rootfs ($stamp): $(du -h "$ROOTFS/rootfs.squashfs" | cut -f1), $(($(date +%s) - started)) s, initrd modules: $(tr '\n' ' ' <"$ROOTFS/initrd-modules/order")"
  fi
fi
