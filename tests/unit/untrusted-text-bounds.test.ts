// Issue 22, item 5: every parser of text the action did not write (Nix's messages, builders, the
// console, probe and test output, devshell values) returns in well under 100 ms on a 1 MB line,
// whatever its shape. A super-linear pattern (unanchored `[^\n]*X[^\n]*`, nested quantifiers)
// takes seconds on lines a tenth that long; the bound is the demand, kept generous.
// A new parser of untrusted text gets a row in PARSERS.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  CappedFile,
  capLines,
  CAPS,
  cutNote,
  HeadAndTail,
  HeadText,
  TailLines
} from '../../src/shared/bounds.js'
import { buildPlaces } from '../../src/build/build-places.js'
import { isEvaluationError } from '../../src/build/evaluation-errors.js'
import { BuildEvents, parseEventLine } from '../../src/build/events.js'
import { derivationName, findDependents, findRootFailures } from '../../src/build/failures.js'
import { findMachineFailure, unreachableBuilder } from '../../src/build/machine-failures.js'
import { parseOutPath } from '../../src/build/request.js'
import { nixError, stripAnsi } from '../../src/shared/nix-error.js'
import { narinfoStorePath } from '../../src/cache/keys.js'
import { parseEnv0 } from '../../src/env/env-diff.js'
import { nixReason } from '../../src/env/nix-output.js'
import { parseOsRelease } from '../../src/qemu-provisioning/os-release.js'
import { classifyAptFailure } from '../../src/qemu-provisioning/apt-policy.js'
import { hasNixpkgsInput, parseBuildOutputs } from '../../src/qemu-provisioning/nix-output.js'
import { lastError } from '../../src/qemu-provisioning/plan.js'
import { parseQemuVersion } from '../../src/qemu-provisioning/version.js'
import { failedUnits, probeStdout } from '../../src/report/annotations.js'
import { parseFailedUnits, parseSystemState, probeOutputBody } from '../../src/report/baseline.js'
import { normaliseProbeOutput } from '../../src/report/probe-normalise.js'
import { unifiedDiff } from '../../src/report/unified-diff.js'
import { retryAfterMs } from '../../src/report/upload-retry.js'
import { parseNixVersion } from '../../src/setup/capabilities.js'
import { parseConfigText } from '../../src/setup/setup-config.js'
import { kvmFailureFromOutput } from '../../src/vm/kvm.js'
import { isMissingCommand } from '../../src/vm/probes.js'
import {
  bootTimeline,
  cleanConsoleText,
  findFingerprint,
  findPanic,
  hookPhase,
  isSshdLine,
  type ConsoleLine
} from '../../src/vm/timeline.js'
import { findConsoleFailure } from '../../src/vm/console-failures.js'

const MiB = 1024 * 1024
const MB = MiB
const drv = '/nix/store/' + 'a'.repeat(32) + '-x.drv'
const filled = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB)

/** One line of about 1 MB, in the shapes that make backtracking patterns work hardest. */
const SHAPES: Record<string, string> = {
  "all 'a'": filled('a'),
  'all spaces': filled(' '),
  'error: then 1 MB': 'error: ' + filled('a'),
  '@nix { then 1 MB': '@nix {' + filled('a'),
  "repeated builder for '": filled("builder for '"),
  'repeated drv paths': filled(`'${drv}' `),
  "repeated building of '": filled("building of '"),
  'repeated kvm ': filled('kvm '),
  'repeated [': filled('['),
  'repeated error: ': filled('error: '),
  'escape sequences': filled('\x1b['),
  'repeated version digits': 'QEMU emulator version ' + filled('1.'),
  'repeated dependencies': filled('1 dependencies of derivation '),
  'repeated remote store': filled("cannot open connection to remote store '"),
  'repeated while setting up': filled('while setting up the build environment '),
  'repeated retry-after': filled('"retry-after": "1'),
  'repeated Reason:': filled('Reason: '),
  'a 1 MB trace value': `trace: "${filled('\\n::warning::')}"`
}

type Parser = (text: string) => unknown

/** The text as a builder's log line and as Nix's error, in events (made once, outside the timing). */
const madeEvents = new Map<string, string[]>()
function eventLines(text: string): string[] {
  const lines = madeEvents.get(text) ?? [
    `@nix {"action":"start","id":1,"level":3,"type":105,"text":"building","fields":["${drv}","",1,1]}`,
    `@nix ${JSON.stringify({ action: 'result', id: 1, type: 101, fields: [text] })}`,
    `@nix ${JSON.stringify({ action: 'msg', level: 0, msg: text })}`
  ]
  madeEvents.set(text, lines)
  return lines
}

const consoleLines = (text: string): ConsoleLine[] =>
  text.split('\n').map((line, i) => ({ seconds: i, text: cleanConsoleText(line) }))

/** Every parser of untrusted text, by where it lives; add a row for a new one. */
const PARSERS: Record<string, Parser> = {
  'build/events parseEventLine': parseEventLine,
  'build/events BuildEvents.push': text => new BuildEvents().push(text),
  'build/events BuildEvents (a build log line, an error)': text =>
    new BuildEvents().pushAll(eventLines(text)),
  'shared/nix-error stripAnsi': stripAnsi,
  'build/failures derivationName': derivationName,
  'build/failures findRootFailures': text => findRootFailures(text, drv),
  'build/failures findDependents': findDependents,
  'build/machine-failures findMachineFailure': findMachineFailure,
  'build/machine-failures unreachableBuilder': text =>
    unreachableBuilder(text, ['missing system features: kvm']),
  'build/evaluation-errors isEvaluationError': isEvaluationError,
  'shared/nix-error nixError': nixError,
  'build/request parseOutPath': text => [parseOutPath(text, true), parseOutPath(text, false)],
  'build/build-places buildPlaces': text =>
    buildPlaces([
      { type: 105, fields: [text, text] },
      { type: 108, fields: [text, text] }
    ]),
  'env/env-diff parseEnv0': text => parseEnv0(`${text}\0A=${text}\0`),
  'env/nix-output nixReason': text => nixReason(text, 'fallback'),
  'setup/capabilities parseNixVersion': text => {
    try {
      return parseNixVersion(text)
    } catch (error) {
      return error
    }
  },
  'setup/setup-config parseConfigText': parseConfigText,
  // A console line reaches the console parsers through cleanConsoleText (the Machine's lines).
  'vm/timeline cleanConsoleText': cleanConsoleText,
  'vm/timeline hookPhase': text => hookPhase(cleanConsoleText(text)),
  'vm/timeline isSshdLine': text => isSshdLine(cleanConsoleText(text)),
  'vm/timeline bootTimeline': text => bootTimeline(consoleLines(text)),
  'vm/timeline findPanic': text => findPanic(cleanConsoleText(text)),
  'vm/timeline findFingerprint': text => findFingerprint(cleanConsoleText(text)),
  'vm/console-failures findConsoleFailure': text => findConsoleFailure(consoleLines(text)),
  'vm/kvm kvmFailureFromOutput': kvmFailureFromOutput,
  'vm/probes isMissingCommand': text =>
    isMissingCommand({ exitCode: 1, stdout: '', stderr: text, timedOut: false }),
  'qemu/version parseQemuVersion': parseQemuVersion,
  'qemu/nix-output parseBuildOutputs': text => [
    parseBuildOutputs(text, true),
    parseBuildOutputs(text, false)
  ],
  'qemu/nix-output hasNixpkgsInput': hasNixpkgsInput,
  'qemu/os-release parseOsRelease': parseOsRelease,
  'qemu/run lastError': lastError,
  'qemu/apt-policy classifyAptFailure': classifyAptFailure,
  'report/probe-normalise normaliseProbeOutput': normaliseProbeOutput,
  'report/unified-diff unifiedDiff': text => unifiedDiff(`x\n${text}\n`, `${text}\ny\n`),
  'report/baseline parseFailedUnits': parseFailedUnits,
  'report/baseline parseSystemState': parseSystemState,
  'report/baseline probeOutputBody': probeOutputBody,
  'report/annotations failedUnits': failedUnits,
  'report/annotations probeStdout': probeStdout,
  'report/upload-retry retryAfterMs': retryAfterMs,
  'cache/keys narinfoStorePath': narinfoStorePath
}

const BOUND_MS = 100

function timed(work: () => unknown): number {
  const started = performance.now()
  work()
  return performance.now() - started
}

describe('every parser of untrusted text is linear on a 1 MB line', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(name, () => {
      parse('warm up\n') // the first call compiles; the bound is for what a line costs
      const slow: string[] = []
      for (const [shape, line] of Object.entries(SHAPES)) {
        // The best of three: a super-linear pattern is slow every time, a busy machine now and then.
        const ms = Math.min(...[1, 2, 3].map(() => timed(() => parse(line))))
        if (ms >= BOUND_MS) slow.push(`${shape}: ${ms.toFixed(0)} ms`)
      }
      expect(slow).toEqual([])
    })
  }
})

describe('the bounds every buffer of untrusted text goes through', () => {
  it('caps every line of a text for a parser, leaving short lines alone', () => {
    const text = `short\n${'x'.repeat(CAPS.parsedLineChars + 5)}\nend`
    const capped = capLines(text)
    expect(capped.split('\n').map(line => line.length)).toEqual([5, CAPS.parsedLineChars, 3])
    expect(capLines('a\nb')).toBe('a\nb')
  })

  it('keeps the head of a stream with a note saying where it was cut', () => {
    const head = new HeadText(16 * MiB)
    const chunk = Buffer.alloc(MiB, 'a')
    for (let i = 0; i < 1024; i++) head.push(chunk)
    expect(head.totalBytes).toBe(1024 * MiB)
    const text = head.text()
    expect(text.endsWith('\n… cut at 16.0 MiB of 1.0 GiB\n')).toBe(true)
    expect(text.length).toBe(16 * MiB + '\n… cut at 16.0 MiB of 1.0 GiB\n'.length)
    expect(cutNote(16 * MiB, 1024 * MiB)).toBe('… cut at 16.0 MiB of 1.0 GiB')
  })

  it('keeps the tail of a stream of lines, with a note first', () => {
    const tail = new TailLines(100)
    for (let i = 0; i < 1000; i++) tail.push(`line ${i}`)
    const kept = tail.toArray()
    expect(kept.at(-1)).toBe('line 999')
    expect(kept.join('\n').length).toBeLessThanOrEqual(100)
    expect(tail.withNote()[0]).toMatch(/^… cut: the last \d+ B of [\d.]+ KiB kept$/)
  })
})

describe('the buffers that hold untrusted text stay within their caps', () => {
  it("keeps a derivation's last log lines, with a note saying how much came before", () => {
    const events = new BuildEvents()
    events.push(
      `@nix {"action":"start","id":1,"level":3,"type":105,"text":"b","fields":["${drv}","",1,1]}`
    )
    const line = 'y'.repeat(1000)
    for (let i = 0; i < 3 * 1024; i++)
      events.push(`@nix {"action":"result","id":1,"type":101,"fields":["${i} ${line}"]}`)
    const log = events.logOf(drv)
    expect(log[0]).toMatch(/^… cut: the last [\d.]+ KiB of 2\.9 MiB kept$/)
    expect(log.at(-1)).toBe(`3071 ${line}`)
    expect(log.join('\n').length).toBeLessThanOrEqual(CAPS.derivationLogBytes + 100)
  })

  it('keeps the first and the last console lines, and drops the middle', () => {
    const kept = new HeadAndTail<string>(100, line => line.length)
    for (let i = 0; i < 1000; i++) kept.push(`l${String(i).padStart(3, '0')}`)
    const lines = kept.toArray()
    expect(lines.slice(0, 2)).toEqual(['l000', 'l001'])
    expect(lines.at(-1)).toBe('l999')
    expect(lines.join('').length).toBeLessThanOrEqual(100)
    expect(kept.dropped).toBe(1000 - lines.length)
  })

  it('writes a file up to its cap, then the note', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bounds-'))
    const path = join(dir, 'out.log')
    const file = new CappedFile(path, MiB)
    for (let i = 0; i < 2048; i++) file.write('z'.repeat(1023) + '\n')
    await file.close()
    const text = readFileSync(path, 'utf8')
    expect(text.endsWith('\n… cut at 1.0 MiB of 2.0 MiB\n')).toBe(true)
    expect(text.length).toBe(MiB + '\n… cut at 1.0 MiB of 2.0 MiB\n'.length)
    rmSync(dir, { recursive: true, force: true })
  })

  it('puts a line on disk before the file is closed (a hung command, a killed main)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bounds-'))
    const path = join(dir, 'out.log')
    const file = new CappedFile(path, MiB)
    file.write('test started\n')
    // The stream opens the file asynchronously: wait for the line, up to a bound far above it.
    const onDisk = (): string => (existsSync(path) ? readFileSync(path, 'utf8') : '')
    const deadline = Date.now() + 5_000
    while (!onDisk() && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
    expect(onDisk()).toBe('test started\n')
    await file.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
