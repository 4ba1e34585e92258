// Stopping a QEMU that main started but could not stop (main was killed): the post step's job.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** Whether the pid is (still) a QEMU: pids are reused, so never signal on the number alone. */
export function isQemuProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0].includes('qemu-system')
  } catch {
    return false
  }
}

export async function stopLeftoverQemu(
  pid: number,
  graceMs = 3000
): Promise<'not running' | 'stopped' | 'killed'> {
  if (!isQemuProcess(pid)) return 'not running'
  process.kill(pid, 'SIGTERM')
  for (let waited = 0; waited < graceMs; waited += 100) {
    await sleep(100)
    if (!isQemuProcess(pid)) return 'stopped'
  }
  process.kill(pid, 'SIGKILL')
  return 'killed'
}
