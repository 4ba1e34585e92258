#!/usr/bin/env bash
# The runner image: a Debian root shaped like GitHub's ubuntu-24.04 runner where it matters to the
# action (user runner with passwordless sudo, multi-user Nix with sandbox = true, no QEMU, no OVMF),
# one per suite under .lab/runner/<suite>/root. tests/helpers/runner-image.ts enters it on a fresh
# overlay per test leg. Idempotent and quiet when done; needs root and the host's apt mirror.
# Usage: scripts/runner-image.sh [suite…]   (default: bookworm trixie forky; trixie = Nix 2.26,
# QEMU 10; forky = Nix 2.34, QEMU 11: the generation of the Nix the action installs by default)
set -euo pipefail
cd "$(dirname "$0")/.."

LAB="$PWD/.lab"
SUITES=("$@")
[ "${#SUITES[@]}" -gt 0 ] || SUITES=(bookworm trixie forky)
# Bump when editing the recipe below: every image is rebuilt.
RECIPE=6
# Nix, what a runner job has anyway, and the fixture's build tools (the builders use the image's
# own /usr through extra-sandbox-paths). Never QEMU or OVMF: the runner has neither.
PACKAGES=(nix-bin sudo git ca-certificates xorriso isolinux syslinux-common busybox-static
  dropbear-bin cpio grub-pc-bin grub-efi-amd64-bin grub-common mtools zstd python3-minimal
  openssh-client squashfs-tools mawk)
# Where the helper mounts .lab/kernel and .lab/rootfs (read-only) inside the image.
LAB_MOUNT=/opt/boot-image-vm-lab

say() { echo "runner-image: $*"; }
die() {
  echo "runner-image: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot): run it with sudo"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

# The mirror apt already uses (deb822 .sources or one-line .list), never the security one.
host_mirror() {
  {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -v -e security -e '^$' | grep -E '^(https?|file):' | head -n1 || true
}

# Seconds since $1 (an epoch in ms), one decimal.
since() { awk -v a="$1" -v b="$(date +%s%3N)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# Unmounts whatever is still mounted below $1 (deepest first).
unmount_below() {
  { findmnt -rn -o TARGET | grep -F "$1/" || true; } | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}

nix_conf() { # $1: trusted users, $2: sandbox paths
  cat <<EOF
# The runner image's Nix, as a multi-user installer leaves it (scripts/runner-image.sh).
build-users-group = nixbld
sandbox = true
# No default sandbox-paths: Nix 2.26's /bin/sh=/usr/bin/bash-static would be made (truncated,
# then bound over) inside the /bin bind below, i.e. through to this root's own /usr/bin/dash.
sandbox-paths =
extra-sandbox-paths = $2
trusted-users = $1
experimental-features = nix-command flakes
substituters =
flake-registry = /etc/nix/registry.json
EOF
}

build() {
  local suite=$1 dir=$2 tmp=$3 mirror=$4 t
  local root="$tmp/root" script=
  t=$(date +%s%3N)
  # A debootstrap older than the suite has no script of its name; testing's is unstable's.
  [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=/usr/share/debootstrap/scripts/sid
  debootstrap --variant=minbase --cache-dir="$LAB/cache/debootstrap" "$suite" "$root" "$mirror" \
    ${script:+"$script"} \
    >"$tmp/debootstrap.log" 2>&1 || {
    tail -n 30 "$tmp/debootstrap.log" >&2
    die "debootstrap $suite failed (log above)"
  }
  say "$suite: debootstrap $(since "$t") s"

  t=$(date +%s%3N)
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # debootstrap leaves only the suite's main component; the image keeps apt usable (qemu: apt).
  echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
  # A mirror snapshot of testing outlives its Release's Valid-Until (a week): apt would refuse it,
  # here and in the action's own apt-get update (qemu: apt). Signatures are still checked.
  [ "$suite" = bookworm ] || [ "$suite" = trixie ] ||
    echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99lab-stale-mirror"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  # nix-bin through apt, not debootstrap --include: its virtual dependency (perl-dbdabi-94) is not
  # resolved by debootstrap and leaves it unconfigured.
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$tmp/apt.log" 2>&1 &&
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${PACKAGES[@]}" >>"$tmp/apt.log" 2>&1 || {
    tail -n 30 "$tmp/apt.log" >&2
    die "apt-get install in the $suite image failed (log above)"
  }
  chroot "$root" apt-get clean
  say "$suite: apt-get install $(since "$t") s"

  # The runner has no QEMU and no OVMF: an image with either would prove nothing.
  local found
  found=$(chroot "$root" dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null |
    awk '$NF == "installed" && $1 ~ /^(qemu|ovmf)/ { print $1 }' | tr '\n' ' ')
  [ -z "$found" ] || die "the $suite image has $found installed; a runner has no QEMU/OVMF"
  for f in "$root"/usr/bin/qemu-system-* "$root"/usr/share/OVMF "$root"/usr/share/qemu/OVMF*; do
    [ ! -e "$f" ] || die "the $suite image has ${f#"$root"}; a runner has no QEMU/OVMF"
  done

  t=$(date +%s%3N)
  # Build users as the installers make them.
  chroot "$root" sh -e -c '
    getent group nixbld >/dev/null || groupadd -r -g 30000 nixbld
    for i in 1 2 3 4 5 6 7 8; do
      getent passwd nixbld$i >/dev/null ||
        useradd -M -u $((30000 + i)) -g nixbld -G nixbld -d /var/empty -s /usr/sbin/nologin \
          -c "Nix build user $i" nixbld$i
    done
    # The job user: uid 1001, passwordless sudo, in adm and users as on the hosted runner.
    getent passwd runner >/dev/null ||
      useradd -m -u 1001 -U -G adm,users -s /bin/bash -d /home/runner runner
    echo "runner ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/runner
    chmod 0440 /etc/sudoers.d/runner'
  mkdir -p "$root/etc/nix" "$root$LAB_MOUNT/kernel" "$root$LAB_MOUNT/rootfs"
  echo '{"flakes":[],"version":2}' >"$root/etc/nix/registry.json"
  # The host tools the fixture's builders use. Merged /usr: /bin, /lib, /lib64 are symlinks, which
  # Nix 2.26 cannot bind (`creating directory '…drv.chroot/root/bin': No such file or directory`;
  # 2.8 follows them): name their targets.
  local paths=/usr p
  for p in /bin /lib /lib64; do
    if [ -L "$root$p" ]; then
      paths+=" $p=$(chroot "$root" readlink -f "$p")"
    elif [ -d "$root$p" ]; then
      paths+=" $p"
    fi
  done
  # Debian reaches some tools through alternatives (awk -> /etc/alternatives/awk -> mawk).
  paths+=" /etc/alternatives $LAB_MOUNT"
  nix_conf "root runner" "$paths" >"$root/etc/nix/nix.conf"
  # The untrusted variant (the helper puts it in place for one leg): runner is not trusted.
  nix_conf "root" "$paths" >"$root/etc/nix/nix.conf.untrusted"
  # The runner's layout: RUNNER_TEMP, RUNNER_TOOL_CACHE, the actions and the workspace.
  install -d -o 1001 -g 1001 "$root/home/runner/work" "$root/home/runner/work/_temp" \
    "$root/home/runner/work/_tool" "$root/home/runner/work/_actions" "$root/home/runner/externals"
  # The store's database, as the installer leaves it: on a fresh store the daemon's workers race
  # to create it (Nix 2.26: "'/nix/var/nix/db/schema' is corrupt" under the action's parallel calls).
  chroot "$root" nix-store --init
  [ -s "$root/nix/var/nix/db/schema" ] || die "nix-store --init made no database in the $suite image"
  local nixv
  nixv=$(chroot "$root" nix --version)
  say "$suite: users and Nix configuration $(since "$t") s ($nixv)"

  unmount_below "$root"
  {
    echo "suite=$suite"
    echo "nix=$nixv"
    echo "mirror=$mirror"
  } >"$tmp/info"
}

mkdir -p "$LAB/runner" "$LAB/cache/debootstrap"
for suite in "${SUITES[@]}"; do
  dir="$LAB/runner/$suite"
  stamp="runner-image $suite recipe-$RECIPE"
  if [ "$(cat "$dir/.done" 2>/dev/null || true)" = "$stamp" ]; then
    continue
  fi
  mirror=${BOOT_IMAGE_VM_LAB_MIRROR:-$(host_mirror)}
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list(.d); set BOOT_IMAGE_VM_LAB_MIRROR"
  started=$(date +%s%3N)
  say "$suite: building from $mirror (a few minutes, once)"
  tmp=$(mktemp -d "$LAB/runner/$suite.XXXXXX")
  trap 'unmount_below "$tmp"; rm -rf --one-file-system "$tmp"' EXIT
  build "$suite" "$dir" "$tmp" "$mirror"
  # Replace the old image only once the new one is whole (and nothing is mounted in the old).
  if [ -e "$dir" ]; then
    ! findmnt -rn -o TARGET | grep -qF "$dir/" || die "$dir is in use (mounts below it): not replacing it"
    rm -rf --one-file-system "$dir"
  fi
  mkdir -p "$dir"
  mv "$tmp/root" "$dir/root"
  mv "$tmp/info" "$dir/info"
  mkdir -p "$dir/archives"
  echo "$stamp" >"$dir/.done"
  rm -rf --one-file-system "$tmp"
  trap - EXIT
  say "$suite: ready in $(since "$started") s, $(du -sh "$dir/root" | cut -f1) ($(sed -n 's/^nix=//p' "$dir/info"))"
done
