// Part of `npm run bench` (scripts/bench.ts, the runner): the settings every figure shares
// (repetitions, the guest's size, its probes, the lab's Nix).
import { join } from 'node:path'
import { LAB_KERNEL_DIR, LAB_NIX_CONF_DIR, REPO_ROOT } from '../../tests/helpers/lab.js'

export function envInt(name: string): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
export const CHEAP_REPS = envInt('BENCH_REPS') ?? 5
export const BOOT_REPS = envInt('BENCH_BOOT_REPS') ?? envInt('BENCH_REPS') ?? 3
export const OUT = process.env.BENCH_OUT ?? join(REPO_ROOT, 'docs', 'benchmarks.md')

/** Guest memory and CPUs for every boot, action and bare alike. */
export const MEMORY_MIB = 512
export const CPUS = 2
/** The fixture guest is busybox + dropbear: probes it can answer (the defaults expect systemd). */
export const PROBES: [string, string][] = [
  ['kernel', 'uname -a'],
  ['addresses', 'ip address show']
]
export const DEVSHELL = 'bootImageTest'
export const LAB_ENV = { NIX_CONF_DIR: LAB_NIX_CONF_DIR, BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR }
