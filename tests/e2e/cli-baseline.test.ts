// The command line's side of the regression view (the bundled dist/cli.js): a passing run leaves
// baseline.json in its report directory, and --baseline compares with one — even the one in the
// report directory the next run replaces — and the new baseline carries the window of runs on.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { NODE24, REPO_ROOT } from '../helpers/action-runner.js'
import { LAB_KERNEL_DIR, LAB_NIX_CONF_DIR, makeFixtureFlake } from '../helpers/lab.js'

const CLI = join(REPO_ROOT, 'dist/cli.js')
let flake: string
let work: string

beforeAll(() => {
  flake = makeFixtureFlake()
  work = mkdtempSync(join(tmpdir(), 'boot-image-vm-cli-'))
})

/** The CLI with the lab's flake variables passed to nix (its --pass-env; --help needs none). */
function cli(args: string[]) {
  const passEnv = args.includes('--flake') ? ['--pass-env', 'BOOT_IMAGE_VM_LAB_KERNEL'] : []
  return spawnSync(NODE24, [CLI, ...args, ...passEnv], {
    cwd: work,
    encoding: 'utf8',
    timeout: 8 * 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NIX_CONF_DIR: LAB_NIX_CONF_DIR,
      BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR
    }
  })
}

describe('boot-image-vm --baseline', () => {
  it('documents the flag and refuses an unusable baseline as setup-failed', () => {
    const help = cli(['--help'])
    expect(help.stdout).toContain('--baseline')
    expect(help.stdout).toContain('8 passed with regressions')
    const bad = join(work, 'bad.json')
    writeFileSync(bad, '{"schemaVersion": 99}')
    const result = cli(['--flake', flake, '--baseline', bad, '--report-dir', join(work, 'r0')])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(
      /--baseline: the baseline .*bad\.json is unusable: schemaVersion 99/
    )
    expect(existsSync(join(work, 'r0'))).toBe(false)
  })

  it(
    'writes baseline.json on a pass and compares the next run with it',
    { timeout: 10 * 60_000 },
    async () => {
      const reportDir = join(work, 'report')
      const first = cli([
        '--flake',
        flake,
        '--image',
        'bootImage',
        '--memory',
        '512',
        '--boot-timeout',
        '240',
        '--probes',
        'kernel: uname -a',
        '--report-dir',
        reportDir
      ])
      expect(first.status, first.stderr.slice(-3000)).toBe(0)
      const baseline = JSON.parse(readFileSync(join(reportDir, 'baseline.json'), 'utf8'))
      expect(baseline).toMatchObject({ schemaVersion: 2, result: 'passed', firmware: 'bios' })
      expect(baseline.image.attribute).toBe('bootImage')
      expect(baseline.image.isoBytes).toBeGreaterThan(1_000_000)
      expect(baseline.history).toHaveLength(1)

      // A second pass compared with the first: boot time is said, with too little history to
      // judge, and its baseline carries both runs.
      const again = cli([
        '--flake',
        flake,
        '--image',
        'bootImage',
        '--memory',
        '512',
        '--boot-timeout',
        '240',
        '--probes',
        'kernel: uname -a',
        '--baseline',
        join(reportDir, 'baseline.json'),
        '--report-dir',
        reportDir
      ])
      expect(again.status, again.stderr.slice(-3000)).toBe(0)
      const compared = (JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report)
        .comparison
      // The same image: nothing changed but, perhaps, a boot time far from the first (said in
      // words with both times: a changed figure, never a regression).
      expect(compared?.changes?.filter(change => change.kind !== 'boot-time')).toEqual([])
      expect(compared?.regressions).toEqual([])
      expect(compared?.boot?.sentence).toMatch(
        /^Boot \d+\.\d s, against \d+\.\d s in the only earlier run with (?:TCG|KVM), BIOS: too little history to judge \(3 needed\)\.$/
      )
      // What the image was made of, compared too: the same packages, said so on stdout.
      expect(compared?.imageChanges?.packages).toEqual([])
      expect(again.stdout).toMatch(
        /^changes: nothing in the inputs, commit or packages changed since the last good run/m
      )
      expect(
        readFileSync(join(reportDir, 'boot-history.csv'), 'utf8').trim().split('\n')
      ).toHaveLength(3)
      const carried = JSON.parse(readFileSync(join(reportDir, 'baseline.json'), 'utf8'))
      expect(carried.history).toHaveLength(2)

      // The same report directory: the baseline is read before it is emptied.
      const second = cli([
        '--flake',
        flake,
        '--image',
        'failingLeaf',
        '--baseline',
        join(reportDir, 'baseline.json'),
        '--report-dir',
        reportDir
      ])
      expect(second.status).toBe(4)
      // Two changes: the result (the regression) and what the image is made of (issue 24), whose
      // suspect is the failing derivation's own closure.
      expect(second.stdout, second.stdout).toContain('compared: 2 changes since the last good run')
      expect(second.stdout).toMatch(/in the failing closure: broken-leaf/)
      const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report
      expect(report.comparison?.status).toBe('changed')
      expect(report.comparison?.regressions.map(r => r.summary)).toEqual([
        'Result: passed → build-failed.'
      ])
      expect(readFileSync(join(reportDir, 'summary.md'), 'utf8')).toContain(
        'Compared with the last good run'
      )
      expect(existsSync(join(reportDir, 'baseline.json'))).toBe(false)
    }
  )
})
