// Types only: where the run's QEMU and OVMF came from (src/qemu/), part of report.json
// (schema: docs/report-schema.md).
// ---- qemu (src/qemu/: where QEMU and OVMF come from) ---------------------------------------------

export type QemuSource = 'path' | 'nix' | 'apt'

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
  source?: QemuSource
  /** Absolute path of the qemu-system-x86_64 every QEMU of the run starts from. */
  binary?: string
  /** From `qemu-system-x86_64 --version`, e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
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
