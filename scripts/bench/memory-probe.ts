// One memory measurement of the memory figure (scripts/bench/figures/memory.ts), in a process of
// its own so that its peak RSS is its own: `npx vite-node scripts/bench/memory-probe.ts <what>`.
//   build  100 MB of a builder's log as `nix build --log-format internal-json` prints it, split by
//          the process runner's LineSplitter and handled as runBuild does (BuildEvents, build.log
//          and events.jsonl through the capped files), into a temp dir.
//   none   nothing: the process's own peak (node, vite-node, the modules loaded).
//   probe  1 GiB of a probe's stdout, 64 KiB chunks from a generator, into the head SshSession
//          keeps per stream (HeadText), then rendered as probes/<name>.txt is.
// The probe's stream comes from a generator, not a guest: an SSH session under TCG moves ~10–50
// MB/s, and the handler is the same one SshSession's channel feeds.
// With a second argument, the source tree of an earlier commit (`git archive <commit> src | tar -x`,
// node_modules linked in): the same input through that commit's BuildEvents and LineSplitter, its
// files written line by line uncapped (its AppendFile), and the probe's stream kept as one string
// (its SshSession) — the figures before the bounds.
// Prints one JSON line: {"what", "peakRssBytes", "retainedBytes", "inputBytes", "ms", "error"?}.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CappedFile, CAPS, HeadText } from '../../src/shared/bounds.js'
import { BuildEvents } from '../../src/build/events.js'
import { LineSplitter } from '../../src/shared/process-output.js'
import { renderProbeFile } from '../../src/vm/probes.js'

const MB = 1000 * 1000
const drv = `/nix/store/${'a'.repeat(32)}-noisy.drv`

/** The log in 64 KiB chunks: a start event, then result events of one build activity. */
function* buildLog(bytes: number): Generator<Buffer> {
  const start = `@nix {"action":"start","id":7,"level":3,"type":105,"text":"building '${drv}'","fields":["${drv}","",1,1],"parent":0}\n`
  let sent = 0
  let n = 0
  let chunk = start
  while (sent < bytes) {
    while (chunk.length < 64 * 1024) {
      const line = `line ${n++} of a builder that prints a great deal ${'x'.repeat(40)}`
      chunk += `@nix {"action":"result","id":7,"type":101,"fields":[${JSON.stringify(line)}]}\n`
    }
    const buffer = Buffer.from(chunk)
    sent += buffer.length
    chunk = ''
    yield buffer
  }
}

/** What the handling keeps after its input ended (the build's events), until it is measured. */
let held: unknown

interface LineFile {
  write(text: string): void
  close(): Promise<void>
}

/** The earlier commit's way: every line written to an uncapped stream. */
function uncappedFile(path: string): LineFile {
  const stream = createWriteStream(path)
  return {
    write: text => stream.write(text),
    close: () => new Promise(resolve => stream.end(() => resolve()))
  }
}

async function build(dir: string, before?: string): Promise<number> {
  const Events: typeof BuildEvents = before
    ? ((await import(`${before}/src/build/events.ts`)) as { BuildEvents: typeof BuildEvents })
        .BuildEvents
    : BuildEvents
  const Splitter: typeof LineSplitter = before
    ? ((await import(`${before}/src/process.ts`)) as { LineSplitter: typeof LineSplitter })
        .LineSplitter
    : LineSplitter
  const file = (name: string): LineFile =>
    before ? uncappedFile(join(dir, name)) : new CappedFile(join(dir, name), CAPS.buildStreamBytes)
  const events = new Events()
  held = events
  const eventsFile = file('events.jsonl')
  const humanLog = file('build.log')
  const lines = new Splitter((line: string) => {
    const outcome = events.push(line)
    if (outcome.event) eventsFile.write(line.slice(line.indexOf('{')) + '\n')
    for (const human of outcome.human) humanLog.write(human + '\n')
  })
  let bytes = 0
  for (const chunk of buildLog(Number(process.env.BENCH_BUILD_MB ?? 100) * MB)) {
    // The earlier LineSplitter took strings.
    lines.push(before ? (chunk.toString('utf8') as never) : chunk)
    bytes += chunk.length
    // One chunk per turn of the event loop, as a pipe delivers them (the file writes go between).
    await new Promise(r => setImmediate(r))
  }
  lines.end()
  await Promise.all([eventsFile.close(), humanLog.close()])
  return bytes
}

function probe(before?: string): number {
  const chunk = Buffer.alloc(64 * 1024, 'a')
  const total = 1024 * 1024 * 1024
  if (before) {
    // The earlier SshSession: `stdout += chunk.toString('utf8')`, until V8's string limit.
    let text = ''
    held = () => text
    for (let sent = 0; sent < total; sent += chunk.length) text += chunk.toString('utf8')
    return text.length
  }
  const stdout = new HeadText(CAPS.probeStreamBytes)
  for (let sent = 0; sent < total; sent += chunk.length) stdout.push(chunk)
  const spec = { name: 'huge', command: 'head -c 1G', required: true, timeoutSeconds: 600 }
  const result = { exitCode: 0, stdout: stdout.text(), stderr: '', timedOut: false }
  held = result
  return renderProbeFile(spec, result, 1000).length > 0 ? total : 0
}

/** What the handling still holds at its end (heap and buffers after a full collection; needs --expose-gc). */
function retained(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return undefined
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

async function main(): Promise<void> {
  const [what, before] = process.argv.slice(2)
  const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'))
  const started = performance.now()
  let inputBytes = 0
  let error: string | undefined
  try {
    if (what === 'build') inputBytes = await build(dir, before)
    else if (what === 'probe') inputBytes = probe(before)
    else if (what !== 'none') throw new Error(`what to measure: build, probe or none, not ${what}`)
  } catch (thrown) {
    if (what !== 'probe') throw thrown
    error = thrown instanceof Error ? thrown.message : String(thrown)
  }
  try {
    const peakRssBytes = process.resourceUsage().maxRSS * 1024
    const ms = Math.round(performance.now() - started)
    const line = {
      what,
      peakRssBytes,
      retainedBytes: retained(),
      held: held !== undefined,
      inputBytes,
      ms,
      ...(error ? { error } : {})
    }
    process.stdout.write(JSON.stringify(line) + '\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
