// Every parser of text the action did not write (Nix's messages, builders, the console, probe and
// test output, devshell values), and lines of about 1 MB in the shapes that make backtracking
// patterns work hardest. tests/unit/untrusted-text-bounds.test.ts guards them against super-linear
// time; `npm run bench -- parsers` prints what each costs. A new parser of untrusted text gets a
// row in PARSERS.
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

const MB = 1024 * 1024
export const drv = '/nix/store/' + 'a'.repeat(32) + '-x.drv'
const filled = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB)

/** One line of about 1 MB, in the shapes that make backtracking patterns work hardest. */
export const SHAPES: Record<string, string> = {
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

export type Parser = (text: string) => unknown

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
export const PARSERS: Record<string, Parser> = {
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

function timed(work: () => unknown): number {
  const started = performance.now()
  work()
  return performance.now() - started
}

/**
 * Each shape's time through one parser, the best of three (a super-linear pattern is slow every
 * time, a busy machine now and then), after a warm-up call (the first call compiles).
 */
export function shapeTimes(parse: Parser): Record<string, number> {
  parse('warm up\n')
  const times: Record<string, number> = {}
  for (const [shape, line] of Object.entries(SHAPES)) {
    times[shape] = Math.min(...[1, 2, 3].map(() => timed(() => parse(line))))
  }
  return times
}
