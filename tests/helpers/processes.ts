// Finding the action's processes from the outside, as a test that injects a fault must: by what
// their command lines hold, and by walking up to the main step that started them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The first process whose command line holds every needle; throws after timeoutMs. */
export async function waitForProcess(needles: string[], timeoutMs = 180_000): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      } catch {
        continue
      }
      if (needles.every(needle => cmdline.includes(needle))) return Number(pid)
    }
    await new Promise(r => setTimeout(r, 200))
  }
  throw new Error(`no process with ${needles.join(' ')} within ${timeoutMs} ms`)
}

function parentOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1])
}

/** The action's main step (node dist/index.js) among pid's ancestors. */
export function mainOf(pid: number): number {
  for (let current = pid; current > 1; current = parentOf(current)) {
    if (readFileSync(`/proc/${current}/cmdline`, 'utf8').includes('/dist/index.js')) return current
  }
  throw new Error(`no dist/index.js above pid ${pid}`)
}

/** A directory of links to the host's tools without nix and nix-*: a PATH on which Nix is not. */
export function toolsWithoutNix(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'no-nix-path-')), 'bin')
  mkdirSync(dir)
  for (const from of ['/usr/local/bin', '/usr/sbin', '/usr/bin']) {
    if (!existsSync(from)) continue
    for (const name of readdirSync(from)) {
      if (name === 'nix' || name.startsWith('nix-') || existsSync(join(dir, name))) continue
      symlinkSync(join(from, name), join(dir, name))
    }
  }
  return dir
}
