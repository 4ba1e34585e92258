// Stopping a QEMU that main started but could not stop (main was killed): the post step's job.
// The pid comes from state, which can be forged: only a process that is QEMU is ever signalled.
import { existsSync, readFileSync, readlinkSync } from 'node:fs'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Whether the pid is (still) a QEMU: pids are reused, so never signal on the number alone. Both
 * its argv[0] and its executable (argv[0] is the process's own to choose) must be qemu-system-*.
 */
export function isQemuProcess(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]
    const exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')
    return basename(argv0).includes('qemu-system') && basename(exe).includes('qemu-system')
  } catch {
    return false
  }
}

/** Whether a process with this pid exists (whatever it is). */
export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`)
}

export async function stopLeftoverQemu(
  pid: number,
  graceMs = 3000
): Promise<'not running' | 'not QEMU' | 'stopped' | 'killed'> {
  if (!isQemuProcess(pid)) return processExists(pid) ? 'not QEMU' : 'not running'
  process.kill(pid, 'SIGTERM')
  for (let waited = 0; waited < graceMs; waited += 100) {
    await sleep(100)
    if (!isQemuProcess(pid)) return 'stopped'
  }
  process.kill(pid, 'SIGKILL')
  return 'killed'
}
