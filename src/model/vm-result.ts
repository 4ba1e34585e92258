// The VM stage's typed results in report.json (schema: docs/report-schema.md): the KVM check, the
// boot with its timeline and what ended it, each probe and the test command. Types only.
import type { GuestPlatform } from './qemu-provision.js'

export type Accelerator = 'kvm' | 'tcg'

export interface KvmCheck {
  /** Whether a guest actually ran code under KVM. */
  runsGuest: boolean
  /** Why not, in one line (device missing, permission, "KVM internal error", …). */
  reason: string
  durationMs: number
}

export interface BootMilestone {
  /** init: the initrd (NixOS's stage 1); system: the real root's init (NixOS's stage 2, systemd). */
  name: 'firmware' | 'kernel' | 'init' | 'system' | 'network' | 'sshd' | 'ready'
  /** Seconds since QEMU started. */
  seconds: number
  line?: string
  /** What the console called it, when a named marker showed it ("NixOS stage 1", "multi-user"). */
  label?: string
}

export interface BootResult {
  status: 'passed' | 'failed'
  error?: string
  /** The guest's architecture, where it was read, and whether it ran emulated. */
  guest?: GuestPlatform
  accel?: Accelerator
  kvmCheck?: KvmCheck
  bootSeconds?: number
  timeline: BootMilestone[]
  hostKeyFingerprint?: string
  consoleHostKeyFingerprint?: string
  /** Report-relative paths of PNG screenshots. */
  screenshots: string[]
  /** A panic (or similar) line from the console that ended the boot early. */
  panic?: string
  /** What the console showed that ended the boot early (src/vm/console-failures.ts). */
  consoleFailure?: ConsoleFailureRecord
}

/** A boot ended by its console: what kind, the cause in one line, the console around it. */
export interface ConsoleFailureRecord {
  kind: 'panic' | 'nixos-stage-1' | 'emergency-mode' | 'reboot' | 'silent-kernel'
  cause: string
  /** When the console showed it: seconds since QEMU started. */
  seconds: number
  /** The console lines around the one that decided (untrusted text, capped). */
  excerpt: string
}

export interface ProbeSpec {
  name: string
  command: string
  /** A required probe that fails makes the run probe-failed; others only gather logs. */
  required: boolean
  timeoutSeconds: number
}

export interface ProbeResult {
  name: string
  command: string
  required: boolean
  exitCode: number | null
  signal?: string
  timedOut: boolean
  /** The command was not found on the guest (exit 127). */
  missing: boolean
  durationMs: number
  /** Report-relative path: probes/<name>.txt */
  file: string
}

export interface TestResult {
  exitCode: number | null
  timedOut: boolean
  durationMs: number
  /** Report-relative path: test/output.log */
  file: string
}

export interface VmStageResult {
  boot: BootResult
  probes: ProbeResult[]
  test?: TestResult
}
