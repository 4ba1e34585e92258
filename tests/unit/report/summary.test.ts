import { describe, expect, it } from 'vitest'
import type { Report } from '../../../src/model/index.js'
import { SUMMARY_LIMIT_BYTES, renderSummary } from '../../../src/report/summary.js'
import { build, failedReport, failure, passedReport, probe } from './fixtures.js'

/** Fails unless every fence and <details> block is closed, in order, outside code. */
function expectBalanced(markdown: string): void {
  let fence: string | undefined
  let depth = 0
  for (const line of markdown.split('\n')) {
    if (fence) {
      if (new RegExp(`^${fence}\`*\\s*$`).test(line)) fence = undefined
      continue
    }
    const open = /^(`{3,})[^`]*$/.exec(line)
    if (open) {
      fence = open[1]
      continue
    }
    depth += (line.match(/<details[\s>]/g) ?? []).length
    depth -= (line.match(/<\/details>/g) ?? []).length
    expect(depth, `</details> before <details> at: ${line.slice(0, 80)}`).toBeGreaterThanOrEqual(0)
  }
  expect(fence, 'an unclosed code fence').toBeUndefined()
  expect(depth, 'an unclosed <details>').toBe(0)
}

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8')
const firstLine = (text: string): string => text.split('\n')[0]

describe('renderSummary: the first line', () => {
  it('says passed', () => {
    const summary = renderSummary(passedReport())
    expect(firstLine(summary)).toBe('## ✅ passed')
    expectBalanced(summary)
  })

  it.each([
    ['setup-failed', 'setup'],
    ['eval-failed', 'build'],
    ['build-failed', 'build'],
    ['boot-failed', 'boot'],
    ['probe-failed', 'probes'],
    ['test-failed', 'test']
  ] as const)('says %s and the deciding stage %s', (result, stage) => {
    const summary = renderSummary(failedReport(result))
    expect(firstLine(summary)).toBe(`## ❌ ${result} — decided by ${stage}`)
    expectBalanced(summary)
  })

  it('marks a cancelled, partial run', () => {
    const report = { ...failedReport('boot-failed'), complete: false, cancelled: true }
    const summary = renderSummary(report)
    expect(firstLine(summary)).toBe('## ❌ boot-failed — decided by boot (cancelled)')
    expect(summary).toContain('cancelled before every stage ran')
  })
})

describe('renderSummary: what explains the verdict', () => {
  it('leads with the context that fails, its log tail and the env diff', () => {
    const report = failedReport('build-failed')
    report.builds = [
      build({ context: 'host' }),
      build({
        context: 'devshell',
        status: 'build-failed',
        failures: [
          failure('nixos.iso', ['mkdir: cannot create directory /tmp/x: Permission denied'])
        ]
      })
    ]
    report.envDiff = {
      ok: true,
      verdicts: ['TMPDIR differs: /tmp in the devshell, unset on the host.'],
      differences: [
        {
          name: 'PATH',
          kind: 'changed',
          host: '/a',
          devshell: '/b',
          likelihood: 'low',
          reason: 'tools'
        },
        { name: 'TMPDIR', kind: 'added', devshell: '/tmp', likelihood: 'high', reason: 'build dir' }
      ],
      durationMs: 10
    }
    const summary = renderSummary(report)
    const blocks = summary.split('\n\n')
    expect(blocks[1]).toMatch(/^\*\*Passes on the host, fails in the devshell\*\*/)
    const stageTable = summary.indexOf('### Stages')
    expect(summary.indexOf('Permission denied')).toBeLessThan(stageTable)
    expect(summary.indexOf('TMPDIR differs')).toBeLessThan(stageTable)
    expect(summary.indexOf('`TMPDIR`')).toBeLessThan(summary.indexOf('`PATH`'))
    expect(summary).toContain('env/diff.md')
    expectBalanced(summary)
  })

  it('says the reverse when only the host fails', () => {
    const report = failedReport('eval-failed')
    report.builds = [
      build({ context: 'host', status: 'eval-failed', error: 'error: boom' }),
      build({ context: 'devshell' })
    ]
    expect(renderSummary(report)).toContain('**Passes in the devshell, fails on the host**')
  })

  it('shows each failing derivation with its tail and where its whole log is', () => {
    const summary = renderSummary(failedReport('build-failed'))
    expect(summary).toContain('<details open><summary>❌ nixos-24.05-x86_64-linux.iso')
    expect(summary).toContain('xorriso: error')
    expect(summary).toContain('`build/failed/nixos-24.05-x86_64-linux.iso.log`')
  })

  it('shows the boot timeline, the accelerator, the panic and the screenshots', () => {
    const summary = renderSummary(failedReport('boot-failed'))
    expect(summary).toContain('Kernel panic - not syncing')
    expect(summary).toContain('Accelerator: **tcg**')
    expect(summary).toContain('| kernel | 3.0 |')
    expect(summary).toContain('`vm/boot-failed.png`')
  })

  it('leads a boot the console ended with its cause and the console quoted, named milestones', () => {
    const report = failedReport('boot-failed')
    const cause =
      'NixOS stage 1 failed: stage 2 init script (/mnt-root/nix/store/abc-nixos-system/init) not found'
    report.vm!.boot = {
      ...report.vm!.boot,
      error: cause,
      panic: undefined,
      consoleFailure: {
        kind: 'nixos-stage-1',
        cause,
        seconds: 12.5,
        excerpt: 'mounting /dev/vda2 on /...\n```\n*) to ignore the error and continue'
      },
      timeline: [
        { name: 'init', seconds: 9, line: '<<< NixOS Stage 1 >>>', label: 'NixOS stage 1' }
      ]
    }
    const summary = renderSummary(report)
    const first = summary.slice(0, 1500)
    expect(first).toContain(`The image did not boot: ${cause}`)
    // Fenced with a fence longer than any run of backticks in the console.
    expect(first).toContain('````text\nmounting /dev/vda2 on /...\n```\n*) to ignore')
    expect(summary).toContain('| init (NixOS stage 1) | 9.0 |')
  })

  it('shows the KVM check, probes, test and upload of a passing run', () => {
    const summary = renderSummary(passedReport())
    expect(summary).toContain('KVM check: KVM runs a guest: ran a guest')
    expect(summary).toContain('| system-state | yes | ✅ 0 |')
    expect(summary).toContain('✅ exit code 0')
    expect(summary).toContain('href="https://github.com/o/r/actions/runs/1/artifacts/1234"')
    for (const stage of ['setup', 'build', 'env-diff', 'boot', 'probes', 'test', 'upload']) {
      expect(summary).toMatch(new RegExp(`^\\| ${stage} \\| ✅ passed \\|`, 'm'))
    }
  })
})

describe('renderSummary: size', () => {
  function hugeReport(): Report {
    const report = failedReport('probe-failed')
    const line = 'x'.repeat(99)
    const manyLines = Array.from({ length: 100_000 }, (_, i) => `${i} ${line}`) // ~10 MB
    const oneLine = ['```', '</details>', 'é'.repeat(5_000_000)] // 10 MB in one line
    report.builds = [
      build({
        status: 'build-failed',
        failures: Array.from({ length: 40 }, (_, i) =>
          failure(`drv-${i}`, i % 2 ? manyLines : oneLine)
        ),
        dependents: Array.from({ length: 1000 }, (_, i) => `/nix/store/${i}-parent.drv`)
      })
    ]
    report.vm!.probes = Array.from({ length: 500 }, (_, i) =>
      probe(`probe-${i}`, { exitCode: i % 7 === 0 ? 1 : 0, timedOut: i % 11 === 0 })
    )
    report.envDiff!.error = 'é'.repeat(2_000_000)
    return report
  }

  it('keeps a 10 MB log and 500 probes under 1 MiB, balanced', () => {
    const summary = renderSummary(hugeReport())
    expect(bytes(summary)).toBeLessThan(SUMMARY_LIMIT_BYTES)
    expect(bytes(summary)).toBeLessThanOrEqual(1000 * 1024)
    expectBalanced(summary)
    expect(summary).toContain('earlier lines')
    expect(summary).toContain('build/failed/drv-1.log')
    expect(summary).toMatch(/and \d+ probes more/)
    expect(summary).not.toContain('\ufffd')
  })

  it.each([2_000, 20_000, 50_000])('honours a budget of %i bytes', maxBytes => {
    const report = hugeReport()
    expect(bytes(renderSummary(report))).toBeGreaterThan(maxBytes)
    const summary = renderSummary(report, { maxBytes })
    expect(bytes(summary)).toBeLessThanOrEqual(maxBytes)
    expect(firstLine(summary)).toBe('## ❌ probe-failed — decided by probes')
    expectBalanced(summary)
    expect(summary).toMatch(/left out|cut for size/)
  })
})

describe('renderSummary: escaping', () => {
  it('keeps user text in tables on one row and inert', () => {
    const report = passedReport()
    report.stages.test = {
      status: 'failed',
      durationMs: 1,
      detail: 'a | b\n<script>alert(1)</script>'
    }
    report.vm!.probes = [probe('p1', { file: 'probes/a|b`.txt' })]
    const summary = renderSummary(report)
    expect(summary).not.toContain('<script>')
    expect(summary).toContain('a \\| b &lt;script&gt;')
    const row = summary.split('\n').find(l => l.startsWith('| test |'))!
    expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(6)
    expectBalanced(summary)
  })

  it('escapes a derivation name in <summary> and cannot be closed by a log line', () => {
    const report = failedReport('build-failed')
    report.builds[0].failures = [failure('x</summary></details><b>', ['````', '</details>', '```'])]
    const summary = renderSummary(report)
    expect(summary).toContain('x&lt;/summary&gt;&lt;/details&gt;&lt;b&gt;')
    expect(summary).toContain('`````log')
    expectBalanced(summary)
  })
})
