// The nix source's commands and what it reads back. Pure.
import { readNixJson } from '../shared/bounds.js'
import type { Firmware, GuestArch } from '../model/index.js'

/**
 * The nixpkgs attribute with the guest's QEMU: qemu_kvm builds only the host's own system emulator,
 * so a guest of another architecture needs the full qemu (every target, from the binary cache).
 */
export function nixQemuAttribute(native: boolean): string {
  return native ? 'qemu_kvm' : 'qemu'
}

/**
 * `nix build` of QEMU (and OVMF for a uefi PC) from the nixpkgs the user's flake locks: the same
 * QEMU their devshell's harness gets, pinned by flake.lock and served by their substituters. An
 * aarch64 guest's UEFI firmware comes with QEMU itself (share/qemu/edk2-aarch64-code.fd). Nix
 * before 2.12 has no --print-out-paths: --json then.
 */
export function nixQemuArgs(
  flake: string,
  firmware: Firmware,
  printOutPaths: boolean,
  arch: GuestArch = 'x86_64',
  native = true
): string[] {
  return [
    'build',
    '--inputs-from',
    flake,
    `nixpkgs#${nixQemuAttribute(native)}`,
    ...(arch === 'x86_64' && firmware === 'uefi' ? ['nixpkgs#OVMF.fd'] : []),
    '--no-link',
    printOutPaths ? '--print-out-paths' : '--json'
  ]
}

/**
 * Every output path `nix build` printed: `--print-out-paths` lines, or `--json`'s
 * `[{"drvPath", "outputs": {"out": …}}, …]` (in no promised order: callers find QEMU and OVMF by
 * what the paths hold, not by position).
 */
export function parseBuildOutputs(stdout: string, printOutPaths: boolean): string[] {
  if (printOutPaths) {
    return stdout
      .split('\n')
      .map(line => line.trim())
      .filter(line => line.startsWith('/'))
  }
  try {
    const built = readNixJson(stdout) as { outputs?: Record<string, unknown> }[]
    if (!Array.isArray(built)) return []
    return built.flatMap(item =>
      Object.values(item?.outputs ?? {}).filter((p): p is string => typeof p === 'string')
    )
  } catch {
    return []
  }
}

/**
 * Whether `nix flake metadata --json` shows a direct `nixpkgs` input. Without one, --inputs-from
 * would fall back to the flake registry: an unpinned nixpkgs, which the action must never use.
 */
export function hasNixpkgsInput(metadataJson: string): boolean | undefined {
  try {
    const metadata = readNixJson(metadataJson) as {
      locks?: { root?: string; nodes?: Record<string, { inputs?: Record<string, unknown> }> }
    }
    const locks = metadata.locks
    if (!locks?.nodes) return undefined
    const root = locks.nodes[locks.root ?? 'root']
    return root?.inputs?.nixpkgs !== undefined
  } catch {
    return undefined
  }
}
