// Types only: where the run's QEMU and OVMF came from (src/qemu-provisioning/), part of report.json
// (schema: docs/report-schema.md).
// ---- qemu (src/qemu-provisioning/: where QEMU and OVMF come from) -----------------------------

export type QemuSource = 'path' | 'nix' | 'apt'

/** The guest's CPU architecture (read from the ISO, or input 'arch'): which QEMU and firmware boot it. */
export type GuestArch = 'x86_64' | 'aarch64'

/** What the boot knew of the guest's architecture against the runner's. */
export interface GuestPlatform {
  arch: GuestArch
  /** Where it was read: the ISO's UEFI boot loader or kernel, or input 'arch'. */
  evidence: string
  /** The runner's architecture (absent: neither x86_64 nor aarch64). */
  host?: GuestArch
  /** Not the host's architecture: no KVM, TCG emulates every instruction. */
  emulated: boolean
}

export interface QemuAttempt {
  source: QemuSource
  /** used: gave QEMU; failed: tried, gave nothing; skipped: not tried (the reason says why). */
  outcome: 'used' | 'failed' | 'skipped'
  /** What it gave, or why it was passed over, in one line. */
  reason: string
  durationMs: number
}

export interface QemuProvision {
  /** ready: QEMU (and OVMF for uefi) are there; failed: no source gave them; stopped: no longer needed. */
  status: 'ready' | 'failed' | 'stopped'
  mode: 'auto' | 'path' | 'nix' | 'apt'
  /** The guest architecture QEMU was provisioned for (absent in reports before it was recorded: x86_64). */
  arch?: GuestArch
  source?: QemuSource
  /** Absolute path of the qemu-system-<arch> every QEMU of the run starts from. */
  binary?: string
  /** From `qemu-system-<arch> --version`, e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
  version?: string
  /** The OVMF pair (firmware uefi only). */
  ovmf?: { code: string; vars: string }
  /** Every source, in the order considered. */
  attempts: QemuAttempt[]
  /** Why no source gave QEMU, naming each way and its fix. */
  error?: string
  /** From the start of the run until QEMU was ready (or provisioning ended). */
  readyAfterMs: number
  /** How long the boot waited for QEMU after the build (its cost on the critical path). */
  bootWaitedMs?: number
}
