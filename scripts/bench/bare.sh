#!/usr/bin/env bash
# The bare baseline of `npm run bench`: the job boot-image-vm does, written as a plain shell script
# by someone who knows exactly what they want. A fresh ed25519 key, `nix build` of the image with
# the key's path in the environment, QEMU (same machine, accelerator, memory, CPUs and NIC as the
# action), its console timestamped line by line, an OpenSSH polling loop until `true` runs, the
# probes over the same connection, power off, and a tarball of the logs. What the bench reads goes
# to stdout as `bare: …` lines (seconds since QEMU started).
#
# Usage: bare.sh <flake> <image-attr> <memory-MiB> <cpus> <ssh-port> <work-dir> [probe-command]...
set -euo pipefail
[ "$#" -ge 6 ] || { echo "usage: $0 flake attr memory cpus port workdir [probe]..." >&2; exit 2; }
flake=$1 attr=$2 memory=$3 cpus=$4 port=$5 work=$6
shift 6
mkdir -p "$work/logs/probes"
logs=$work/logs
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- key and build -------------------------------------------------------------------------------
build_start=$(now)
ssh-keygen -q -t ed25519 -N '' -C bare-bench -f "$work/id_ed25519"
PRE_NIXOS_ROOT_KEY=$work/id_ed25519.pub nix build "$flake#$attr" --impure -L \
  --out-link "$work/result" >"$logs/build.log" 2>&1
iso=$(ls "$work"/result/iso/*.iso | head -n1)
echo "bare: key and build took $(since "$build_start" "$(now)") s"

# ---- boot ----------------------------------------------------------------------------------------
qemu_start=$(now)
qemu-system-x86_64 -machine pc -accel tcg -cpu max -m "$memory" -smp "$cpus" \
  -drive "file=$iso,format=raw,media=cdrom,readonly=on,if=ide" -boot order=d \
  -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
  -serial "file:$logs/serial.log" -monitor none -display none -vga std -no-reboot \
  </dev/null >"$logs/qemu.log" 2>&1 &
qemu=$!
# The console with a timestamp per line, as the action logs it; ends when QEMU does.
tail -n +1 -s 0.1 --pid="$qemu" -F "$logs/serial.log" 2>/dev/null |
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$logs/serial-timed.log" &
watcher=$!
cleanup() {
  ssh -o ControlPath="$work/cm" -O exit root@127.0.0.1 >/dev/null 2>&1 || true
  kill -KILL "$qemu" 2>/dev/null || true
}
trap cleanup EXIT

# One master connection (ControlMaster): the probes and poweroff reuse the first one that works.
ssh_opts=(-i "$work/id_ed25519" -p "$port" -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=1
  -o ControlMaster=auto -o ControlPath="$work/cm" -o ControlPersist=120)
guest() { ssh "${ssh_opts[@]}" root@127.0.0.1 "$@"; }

deadline=$(($(date +%s) + 300))
attempts=0
until timeout 5 ssh "${ssh_opts[@]}" root@127.0.0.1 true </dev/null >/dev/null 2>>"$logs/ssh.log"; do
  attempts=$((attempts + 1))
  kill -0 "$qemu" 2>/dev/null || { echo "bare: QEMU exited before SSH answered" >&2; exit 1; }
  [ "$(date +%s)" -lt "$deadline" ] || { echo "bare: no SSH within 300 s" >&2; exit 1; }
  sleep 0.2
done
ready=$(now)
echo "bare: ssh ready after $(since "$qemu_start" "$ready") s ($((attempts + 1)) attempts)"
line_at() { awk -v pattern="$1" '$0 ~ pattern { print $1; exit }' "$logs/serial-timed.log"; }
for mark in 'Linux version:kernel' 'sshd listening:sshd'; do
  at=$(line_at "${mark%%:*}")
  [ -z "$at" ] || echo "bare: ${mark##*:} line after $(since "$qemu_start" "$at") s"
done

# ---- probes, power off ---------------------------------------------------------------------------
i=0
for probe in "$@"; do
  i=$((i + 1))
  guest "$probe" </dev/null >"$logs/probes/probe-$i.txt" 2>&1 || echo "bare: probe $i failed" >&2
done
guest poweroff </dev/null >/dev/null 2>&1 || true
for _ in $(seq 1 50); do
  kill -0 "$qemu" 2>/dev/null || break
  sleep 0.1
done
cleanup
wait "$qemu" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
trap - EXIT

# ---- logs ----------------------------------------------------------------------------------------
tar -czf "$work/logs.tar.gz" -C "$work" logs
echo "bare: done after $(since "$qemu_start" "$(now)") s since QEMU start"
