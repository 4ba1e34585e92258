// The cold-start figure of `npm run bench` (scripts/bench.ts): the main step's cold start, spawn to
// its first output, against node alone.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inputEnv, NODE24, type ActionScripts } from '../../../tests/helpers/action-runner.js'
import { REPO_ROOT } from '../../../tests/helpers/lab.js'
import { actionInputs } from '../boots.js'
import { type Row, stats } from '../table.js'
import type { ColdStart, Figure } from '../figure.js'
import { LAB_ENV } from '../config.js'

/** A runner-like environment for one main step of dist/index.js, in a temp dir. */
export function coldStartEnv(root: string, flake: string): NodeJS.ProcessEnv {
  const temp = join(root, '_temp')
  const workspace = join(root, 'workspace')
  mkdirSync(join(temp, '_runner_file_commands'), { recursive: true })
  mkdirSync(workspace, { recursive: true })
  const files: Record<string, string> = {}
  for (const name of ['OUTPUT', 'STATE', 'ENV', 'PATH', 'STEP_SUMMARY']) {
    files[`GITHUB_${name}`] = join(temp, '_runner_file_commands', name.toLowerCase())
    writeFileSync(files[`GITHUB_${name}`], '')
  }
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...LAB_ENV,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'octo-org/boot-image-vm-test',
    GITHUB_WORKSPACE: workspace,
    GITHUB_RUN_ID: '1',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: temp,
    ...files,
    ...inputEnv(actionInputs(flake, 'action-kvm-off'), join(REPO_ROOT, 'action.yml'))
  }
}

/** Spawns node with args and times the first byte (and the first visible line) on stdout. */
export function timeFirstOutput(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string
): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(NODE24, args, {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true
    })
    let text = ''
    let firstByteMs: number | undefined
    let settled = false
    const closed = new Promise<void>(done => child.once('close', () => done()))
    const finish = (visible?: number): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // The whole process group: the step may have started nix or QEMU already.
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
      const line = text.split('\n')[0] ?? ''
      void closed.then(() =>
        firstByteMs === undefined
          ? reject(new Error('no output on stdout within 20 s'))
          : resolve({
              firstByteMs,
              firstVisibleMs: visible,
              firstLine: line.startsWith('::add-mask::') ? '::add-mask::***' : line.slice(0, 60)
            })
      )
    }
    const timer = setTimeout(() => finish(), 20_000)
    child.on('error', reject)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      firstByteMs ??= performance.now() - started
      text += chunk
      const lines = text.split('\n').slice(0, -1)
      if (lines.some(l => !l.startsWith('::add-mask::'))) finish(performance.now() - started)
    })
    child.on('exit', () => finish())
  })
}

export async function coldStartSample(
  scripts: ActionScripts,
  flake: string
): Promise<{ action: ColdStart; bareNode: ColdStart }> {
  const root = mkdtempSync(join(tmpdir(), 'bench-cold-'))
  try {
    const env = coldStartEnv(root, flake)
    const action = await timeFirstOutput([scripts.main], env, join(root, 'workspace'))
    const bareNode = await timeFirstOutput(
      ['-e', "process.stdout.write('x\\n')"],
      env,
      join(root, 'workspace')
    )
    return { action, bareNode }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

export const coldStart: Figure = {
  name: 'cold-start',
  units: [],
  async cheap(data, run) {
    const sample = await coldStartSample(run.scripts, run.flake)
    data.coldSamples.push(sample)
    return (
      `cold start ${Math.round(sample.action.firstByteMs)} ms` +
      ` (node alone ${Math.round(sample.bareNode.firstByteMs)} ms)`
    )
  },
  rows({ coldSamples }) {
    const rows: Row[] = []
    rows.push({
      figure: 'cold start: node dist/index.js → first stdout byte',
      unit: 'ms',
      stats: stats(coldSamples.map(s => s.action.firstByteMs)),
      target: { max: 300, text: '< 300 ms' }
    })
    rows.push({
      figure: '  → first visible log line',
      unit: 'ms',
      stats: stats(coldSamples.flatMap(s => s.action.firstVisibleMs ?? []))
    })
    rows.push({
      figure: '  node alone (-e, first byte)',
      unit: 'ms',
      stats: stats(coldSamples.map(s => s.bareNode.firstByteMs))
    })
    return rows
  }
}
