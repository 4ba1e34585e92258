// Nix's structured build events (`--log-format internal-json`): a pure parser of one stderr line and
// a reducer that follows activities, per-derivation builds and their logs, progress and errors,
// and rebuilds the human-readable log from them. No I/O here.
import { capLine, capLines, CAPS, TailLines, tailCutNote } from '../shared/bounds.js'
import { derivationName } from './failures.js'
import { stripAnsi } from '../shared/nix-error.js'

export const ActivityType = {
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  substitute: 108,
  fetchTree: 112
} as const

export const ResultType = {
  buildLogLine: 101,
  setPhase: 104,
  progress: 105,
  postBuildLogLine: 107
} as const

export type NixEvent =
  | {
      action: 'start'
      id: number
      level: number
      type: number
      text: string
      fields: unknown[]
      /** From 2.18; 0 before. */
      parent: number
    }
  | { action: 'stop'; id: number }
  | { action: 'result'; id: number; type: number; fields: unknown[] }
  | { action: 'msg'; level: number; msg: string; rawMsg?: string }

const PREFIX = '@nix '

/** One stderr line as an event; undefined for plain text (or a line that is not valid JSON). */
export function parseEventLine(line: string): NixEvent | undefined {
  if (!line.startsWith(PREFIX)) return undefined
  let json: unknown
  try {
    json = JSON.parse(line.slice(PREFIX.length))
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  const e = json as Record<string, unknown>
  const num = (value: unknown): number => (typeof value === 'number' ? value : 0)
  // A builder's line arrives as a field: each string kept at most CAPS.lineChars long.
  const fields = Array.isArray(e.fields)
    ? e.fields.map(field => (typeof field === 'string' ? capLine(field) : field))
    : []
  switch (e.action) {
    case 'start':
      return {
        action: 'start',
        id: num(e.id),
        level: num(e.level),
        type: num(e.type),
        text: typeof e.text === 'string' ? capLine(e.text) : '',
        fields,
        parent: num(e.parent)
      }
    case 'stop':
      return { action: 'stop', id: num(e.id) }
    case 'result':
      return { action: 'result', id: num(e.id), type: num(e.type), fields }
    case 'msg': {
      const msg = typeof e.msg === 'string' ? e.msg : ''
      const rawMsg =
        typeof e.raw_msg === 'string' ? e.raw_msg.slice(0, CAPS.messageChars) : undefined
      return {
        action: 'msg',
        level: num(e.level),
        msg,
        ...(rawMsg === undefined ? {} : { rawMsg })
      }
    }
    default:
      return undefined
  }
}

export interface Activity {
  id: number
  type: number
  text: string
  fields: unknown[]
  parent: number
  running: boolean
}

/** One derivation's build, as the events tell it. */
export interface DerivationBuild {
  drv: string
  name: string
  activityId: number
  running: boolean
  phase?: string
  /** The log lines the builder printed (ANSI kept out): the last CAPS.derivationLogBytes. */
  log: string[]
  /** Characters of log lines kept, and of those dropped from the front to stay under the cap. */
  logChars: number
  droppedChars: number
}

export interface BuildProgress {
  done: number
  expected: number
  running: number
  failed: number
}

/** An error Nix reported (msg level 0), and which build it most likely belongs to. */
export interface ErrorMessage {
  /** ANSI-stripped, with Nix's `error: ` prefix. */
  text: string
  /** The build running (or the last one that stopped) when the error arrived. */
  activeBuild?: string
}

/** What one stderr line changed, for the caller's files and progress output. */
export interface LineOutcome {
  event?: NixEvent
  /** Lines to append to the human-readable log. */
  human: string[]
  started?: string
  finished?: string
  error?: ErrorMessage
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value ?? ''))

export class BuildEvents {
  readonly activities = new Map<number, Activity>()
  /** By derivation path, in the order builds started. */
  readonly builds = new Map<string, DerivationBuild>()
  readonly progress: BuildProgress = { done: 0, expected: 0, running: 0, failed: 0 }
  /** The first errors, up to CAPS.buildTextBytes of them (each cut at CAPS.messageChars). */
  readonly errors: ErrorMessage[] = []
  private errorChars = 0
  private readonly plain = new TailLines(CAPS.buildTextBytes)
  private readonly human = new TailLines(CAPS.buildTextBytes)
  private readonly buildByActivity = new Map<number, DerivationBuild>()
  private buildsActivity: number | undefined
  private lastStopped: string | undefined

  /** Consumes one stderr line. */
  push(line: string): LineOutcome {
    const event = parseEventLine(line)
    const outcome: LineOutcome = event ? this.apply(event) : this.plainLine(line)
    for (const human of outcome.human) this.human.push(human)
    return event ? { ...outcome, event } : outcome
  }

  /** Consumes many lines (a recorded transcript). */
  pushAll(lines: Iterable<string>): this {
    for (const line of lines) this.push(line)
    return this
  }

  /** Lines that were not events (other programs, `nix develop`, older Nix): the last ones. */
  get plainLines(): string[] {
    return this.plain.toArray()
  }

  /** The human-readable log's last lines (the whole of it is build.log's, on disk). */
  humanLines(): string[] {
    return this.human.toArray()
  }

  /** The log lines of one derivation's build (empty if it never ran here), after a cut note. */
  logOf(drv: string): string[] {
    const build = this.builds.get(drv)
    if (!build?.droppedChars) return build?.log ?? []
    return [tailCutNote(build.logChars, build.logChars + build.droppedChars), ...build.log]
  }

  runningBuilds(): DerivationBuild[] {
    return [...this.builds.values()].filter(build => build.running)
  }

  /** "[3/7 built, 1 running] building foo (buildPhase)" */
  progressLine(): string {
    const { done, expected, running, failed } = this.progress
    const counts = [`${done}/${expected} built`]
    if (running) counts.push(`${running} running`)
    if (failed) counts.push(`${failed} failed`)
    const current = this.runningBuilds().at(-1)
    const what = current
      ? ` building ${current.name}${current.phase ? ` (${current.phase})` : ''}`
      : ''
    return `[${counts.join(', ')}]${what}`
  }

  /** Every error message, one after the other, as Nix printed them. */
  errorText(): string {
    return this.errors.map(error => error.text).join('\n')
  }

  private plainLine(line: string): LineOutcome {
    const clean = stripAnsi(capLine(line))
    this.plain.push(clean)
    return { human: [clean] }
  }

  private apply(event: NixEvent): LineOutcome {
    switch (event.action) {
      case 'start':
        return this.start(event)
      case 'stop':
        return this.stop(event.id)
      case 'result':
        return this.result(event)
      case 'msg':
        return this.message(event)
    }
  }

  private start(event: Extract<NixEvent, { action: 'start' }>): LineOutcome {
    const { id, type, fields, parent } = event
    this.activities.set(id, { id, type, text: event.text, fields, parent, running: true })
    if (type === ActivityType.builds) this.buildsActivity = id
    if (type === ActivityType.build) {
      const drv = text(fields[0])
      const build: DerivationBuild = {
        drv,
        name: derivationName(drv),
        activityId: id,
        running: true,
        log: [],
        logChars: 0,
        droppedChars: 0
      }
      this.builds.set(drv, build)
      this.buildByActivity.set(id, build)
      return { human: [`${stripAnsi(event.text) || `building '${drv}'`}...`], started: drv }
    }
    // Info-level activities with something to say (copying, downloading), like Nix's own output.
    const say = event.level <= 3 && event.text ? [stripAnsi(event.text)] : []
    return { human: say }
  }

  private stop(id: number): LineOutcome {
    const activity = this.activities.get(id)
    if (activity) activity.running = false
    const build = this.buildByActivity.get(id)
    if (!build) return { human: [] }
    build.running = false
    this.lastStopped = build.drv
    return { human: [], finished: build.drv }
  }

  private result(event: Extract<NixEvent, { action: 'result' }>): LineOutcome {
    const build = this.buildByActivity.get(event.id)
    if (
      build &&
      (event.type === ResultType.buildLogLine || event.type === ResultType.postBuildLogLine)
    ) {
      const line = stripAnsi(capLine(text(event.fields[0])))
      keepLogLine(build, line)
      return { human: [`${build.name}> ${line}`] }
    }
    if (build && event.type === ResultType.setPhase) {
      build.phase = text(event.fields[0])
      return { human: [] }
    }
    if (event.type === ResultType.progress && event.id === this.buildsActivity) {
      const [done, expected, running, failed] = event.fields.map(Number)
      Object.assign(this.progress, { done, expected, running, failed })
    }
    return { human: [] }
  }

  private message(event: Extract<NixEvent, { action: 'msg' }>): LineOutcome {
    const message = stripAnsi(capLines(event.msg.slice(0, CAPS.messageChars), CAPS.lineChars))
    if (event.level !== 0) return { human: [message] }
    const active = this.runningBuilds().at(-1)?.drv ?? this.lastStopped
    const error: ErrorMessage = { text: message, ...(active ? { activeBuild: active } : {}) }
    this.errorChars += message.length
    if (this.errorChars <= CAPS.buildTextBytes) this.errors.push(error)
    return { human: [message], error }
  }
}

/** Appends a log line, dropping the oldest once the log is over CAPS.derivationLogBytes. */
function keepLogLine(build: DerivationBuild, line: string): void {
  build.log.push(line)
  build.logChars += line.length + 1
  if (build.logChars <= CAPS.derivationLogBytes) return
  // Down to three quarters at once: each line is dropped once, not shifted on every push.
  const keep = (CAPS.derivationLogBytes * 3) / 4
  let [drop, dropped] = [0, 0]
  for (; build.logChars - dropped > keep && drop < build.log.length - 1; drop++)
    dropped += build.log[drop].length + 1
  build.log.splice(0, drop)
  build.logChars -= dropped
  build.droppedChars += dropped
}
