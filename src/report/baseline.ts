// The baseline: what a passing run keeps so that the next run can say what changed. A small,
// versioned summary of report.json plus each probe's normalised output. Pure: a Report and a way to
// read probe files in, a Baseline out (schema: docs/report-schema.md, "baseline.json").
import { createHash } from 'node:crypto'
import type { Accelerator, Report, Result } from '../model.js'

export const BASELINE_SCHEMA_VERSION = 1
/** Normalised output kept per probe for the diff; the digest always covers the whole output. */
export const BASELINE_OUTPUT_MAX_CHARS = 8 * 1024

export interface BaselineProbe {
  name: string
  required: boolean
  exitCode: number | null
  timedOut: boolean
  missing: boolean
  /** sha256 (hex, first 16) of the whole normalised output; absent when the file was unreadable. */
  digest?: string
  /** The normalised output, cut at BASELINE_OUTPUT_MAX_CHARS. */
  output?: string
  truncated?: boolean
}

export interface BaselineImage {
  flake?: string
  attribute?: string
  drvPath?: string
  outPath?: string
  isoPath?: string
  isoBytes?: number
  closureBytes?: number
}

export interface Baseline {
  schemaVersion: typeof BASELINE_SCHEMA_VERSION
  /** The finishedAt of the run it was taken from. */
  createdAt: string
  /** Which run, in words (e.g. "octo/repo run 123 attempt 1 on main"). */
  run?: string
  result: Result
  image: BaselineImage
  nix?: { version: string; variant: string }
  accel?: Accelerator
  bootSeconds?: number
  /** Boot timeline: milestone name → seconds since QEMU started. */
  milestones: Record<string, number>
  /** From the `failed-units` probe; absent when no such probe ran. */
  failedUnits?: string[]
  /** From the `system-state` probe (systemctl is-system-running); absent when none ran. */
  systemState?: string
  /** Absent when the run never reached the probes. */
  probes?: BaselineProbe[]
  test?: { exitCode: number | null; timedOut: boolean }
}

/** What the report does not hold: the image attribute, sizes, the run. */
export interface BaselineFacts {
  flake?: string
  attribute?: string
  isoBytes?: number
  closureBytes?: number
  run?: string
}

/** Reads a probe's saved output by its report-relative path; undefined when it cannot. */
export type ReadProbeOutput = (file: string) => string | undefined

const MASKS: [RegExp, string][] = [
  // Host keys and fingerprints (a fresh host key each boot).
  [/\bSHA256:[A-Za-z0-9+/]{43}=?/g, '<fingerprint>'],
  [/\b(ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]{40,}={0,2}/g, '$1 <key>'],
  // MAC addresses (before the times of day, which look like their first three groups).
  [/\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi, '<mac>'],
  // Timestamps: ISO 8601, syslog-style, times of day, kernel and journal monotonic stamps.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>'],
  [
    /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?:\d{1,2} )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b[^\n]*?\d{2}:\d{2}:\d{2}(?: \w{1,5})?(?: \d{4})?/g,
    '<time>'
  ],
  [
    /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}/g,
    '<time>'
  ],
  [/\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b/g, '<time>'],
  [/\[ *\d+\.\d+\]/g, '[<t>]'],
  // Durations and lifetimes (systemd's "in 1.234s", ip's "valid_lft 86399sec", "up 5 min").
  [/\b\d+(?:\.\d+)?(?:ms|us|µs|sec|min|s)\b/g, '<duration>'],
  // Identifiers that change per boot: UUIDs, boot and machine ids.
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b[0-9a-f]{32}\b/g, '<id>'],
  // Addresses: IPv4 (with an optional prefix), IPv6 (two groups or more, or with ::).
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g, '<ipv4>'],
  [
    /(?<![\w:])(?:(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?)(?:\/\d{1,3})?(?![\w:])/gi,
    '<ipv6>'
  ],
  // Ephemeral ports after an address (54321), and pids in their usual spellings.
  [/(<ipv[46]>|\*|\]):(?:3[2-9]\d{3}|[4-6]\d{4})\b/g, '$1:<port>'],
  [/\bpid[=: ]+\d+/gi, 'pid=<pid>'],
  [/\b([A-Za-z][\w.@-]*)\[\d+\]/g, '$1[<pid>]'],
  // Duplicate address detection states of a fresh IPv6 address.
  [/ (?:tentative|optimistic)\b/g, '']
]

/**
 * A probe's output with what differs on every boot masked — addresses, timestamps, durations, pids,
 * host keys, per-boot ids — so that only meaningful changes remain. Also trims trailing blanks.
 */
export function normaliseProbeOutput(text: string): string {
  let out = settleLinkStates(text.replace(/\r\n?/g, '\n'))
  for (const [pattern, replacement] of MASKS) out = out.replace(pattern, replacement)
  const lines = out.split('\n').map(line => line.replace(/[ \t]+$/, ''))
  // `ip address`: an autoconfigured (dynamic) IPv6 address is there or not depending on when the
  // router advertisement arrived; its entry (and its lifetime line) is left out.
  const kept = lines.filter(
    (line, i) =>
      !/^\s*inet6 <ipv6> .*\bdynamic\b/.test(line) &&
      !(/^\s*valid_lft /.test(line) && /^\s*inet6 <ipv6> .*\bdynamic\b/.test(lines[i - 1] ?? ''))
  )
  return kept.join('\n').replace(/\n+$/, '\n')
}

/**
 * A link that has its carrier (LOWER_UP) but is not operationally up yet (NO-CARRIER, state DOWN)
 * is in the kernel's linkwatch delay, about a second after it was brought up; a probe that runs then
 * or a moment later sees a different flag set for the same healthy link. Both read as up. A link
 * without LOWER_UP has really lost its carrier and is left as it is.
 */
function settleLinkStates(text: string): string {
  const settling = (flags: string): boolean =>
    /\bNO-CARRIER\b/.test(flags) && /\bLOWER_UP\b/.test(flags)
  // `ip address show`: "2: eth0: <NO-CARRIER,BROADCAST,UP,LOWER_UP> mtu 1500 ... state DOWN ..."
  const plain = text.replace(/^(\d+: \S+ <)([^>\n]*)(>[^\n]*)$/gm, (line, head, flags, rest) =>
    settling(flags)
      ? `${head}${flags.replace(/NO-CARRIER,?/, '').replace(/,$/, '')}${rest.replace(/ state DOWN\b/, ' state UP')}`
      : line
  )
  // `ip -json address show`: "flags":["NO-CARRIER",...,"LOWER_UP"],...,"operstate":"DOWN"
  return plain.replace(
    /("flags":\[)([^\]]*)(\][^{}[\]]*?"operstate":")(\w+)"/g,
    (whole, head, flags, middle, state) =>
      settling(flags)
        ? `${head}${flags.replace(/"NO-CARRIER",?/, '').replace(/,$/, '')}${middle}${state === 'DOWN' ? 'UP' : state}"`
        : whole
  )
}

/** probes/<name>.txt without its header (exit code and duration are kept as numbers instead). */
export function probeOutputBody(text: string): string {
  const start = text.indexOf('--- stdout ---')
  return start >= 0 ? text.slice(start) : text
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/** Unit names from `systemctl list-units --failed --plain` (or without --plain). */
export function parseFailedUnits(text: string): string[] {
  const units = new Set<string>()
  for (const line of text.split('\n')) {
    const match =
      /^\s*(?:[●*×x]\s+)?(\S+\.(?:service|socket|mount|automount|swap|target|timer|path|device|scope|slice))\s+\S+\s+failed\b/.exec(
        line
      )
    if (match) units.add(match[1])
  }
  return [...units].sort()
}

/** The last non-empty stdout line of `systemctl is-system-running` (running, degraded, …). */
export function parseSystemState(text: string): string | undefined {
  const lines = stdoutOf(text)
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
  const last = lines.at(-1)
  return last && /^[a-z-]+$/.test(last) ? last : undefined
}

function stdoutOf(text: string): string {
  return /--- stdout ---\n([\s\S]*?)(?:\n--- stderr ---|$)/.exec(text)?.[1] ?? text
}

/** The baseline of a run (passing or not: the comparison uses the current run's too). */
export function baselineFrom(
  report: Report,
  readProbeOutput: ReadProbeOutput,
  facts: BaselineFacts = {}
): Baseline {
  const build =
    report.builds.find(b => b.status === 'passed' && b.outPath) ??
    report.builds.find(b => b.drvPath) ??
    report.builds[0]
  const image: BaselineImage = {
    flake: facts.flake,
    attribute: facts.attribute,
    drvPath: build?.drvPath,
    outPath: build?.outPath,
    isoPath: build?.isoPath,
    isoBytes: facts.isoBytes,
    closureBytes: facts.closureBytes
  }
  const vm = report.vm
  const boot = vm?.boot
  const baseline: Baseline = {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    createdAt: report.finishedAt || report.startedAt,
    run: facts.run,
    result: report.result,
    image,
    nix: report.setup?.nix
      ? { version: report.setup.nix.version, variant: report.setup.nix.variant }
      : undefined,
    accel: boot?.accel,
    bootSeconds: boot?.status === 'passed' ? boot.bootSeconds : undefined,
    milestones: Object.fromEntries((boot?.timeline ?? []).map(m => [m.name, m.seconds])),
    test: vm?.test ? { exitCode: vm.test.exitCode, timedOut: vm.test.timedOut } : undefined
  }
  if (vm && boot?.status === 'passed') {
    baseline.probes = vm.probes.map(probe => {
      const text = readProbeOutput(probe.file)
      const entry: BaselineProbe = {
        name: probe.name,
        required: probe.required,
        exitCode: probe.exitCode,
        timedOut: probe.timedOut,
        missing: probe.missing
      }
      if (text === undefined) return entry
      const normalised = normaliseProbeOutput(probeOutputBody(text))
      entry.digest = digest(normalised)
      entry.output = normalised.slice(0, BASELINE_OUTPUT_MAX_CHARS)
      if (normalised.length > BASELINE_OUTPUT_MAX_CHARS) entry.truncated = true
      const ran = !probe.missing && !probe.timedOut
      if (probe.name === 'failed-units' && ran)
        baseline.failedUnits = parseFailedUnits(stdoutOf(text))
      if (probe.name === 'system-state' && ran) baseline.systemState = parseSystemState(text)
      return entry
    })
  }
  return baseline
}

/** baseline.json's text (two-space indentation, a final newline). */
export function baselineJson(baseline: Baseline): string {
  return JSON.stringify(baseline, null, 2) + '\n'
}

/** Parses baseline.json; throws a message that says what is wrong (not JSON, another version). */
export function parseBaseline(text: string): Baseline {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('not a baseline object')
  }
  const candidate = value as Partial<Baseline>
  if (candidate.schemaVersion !== BASELINE_SCHEMA_VERSION) {
    throw new Error(
      `schemaVersion ${String(candidate.schemaVersion)} is not ${BASELINE_SCHEMA_VERSION} (written by another version of boot-image-vm)`
    )
  }
  if (typeof candidate.createdAt !== 'string' || typeof candidate.image !== 'object') {
    throw new Error('createdAt or image is missing')
  }
  return { ...candidate, milestones: candidate.milestones ?? {} } as Baseline
}
