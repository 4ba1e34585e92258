// Bounds on text the action did not write (Nix's messages, builders, the console, probe and test
// output): the caps, in one place, and the note that says where something was cut. Whatever
// holds such text in memory or writes it into the report goes through these, so a builder or a
// guest printing without end costs a bounded amount of memory and disk, and a parser never reads
// a line longer than it needs.
import { createHash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'

const MiB = 1024 * 1024

export const CAPS = {
  /** A file of untrusted output in the report: probes/<name>.txt, test output, a failed log. */
  fileBytes: 16 * MiB,
  /** Each of a probe's two streams, in memory and in its file (so the file stays near fileBytes). */
  probeStreamBytes: 8 * MiB,
  /** The build's whole stream on disk (build.log, events.jsonl), each. */
  buildStreamBytes: 64 * MiB,
  /** One derivation's build log kept in memory (its tail; the whole log is `nix log`'s). */
  derivationLogBytes: 1 * MiB,
  /** Lines that were not build events, and Nix's error messages, kept in memory (their tail). */
  buildTextBytes: 4 * MiB,
  /** Console lines kept in memory (the first ones, then the last ones). */
  consoleBytes: 4 * MiB,
  /** One message of Nix's (an error with its quoted log tail), as kept in memory. */
  messageChars: 256 * 1024,
  /** A line kept in memory or echoed to the log; past it the line is cut (and its rest dropped). */
  lineChars: 64 * 1024,
  /** A JSON document Nix prints about a build or a flake (a few KiB): longer is not read. */
  nixJsonChars: 512 * 1024,
  /** A line as a parser of untrusted text reads it. */
  parsedLineChars: 8 * 1024
} as const

/** "1.0 GiB" (binary units, one decimal; bytes as they are). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** "cut at 16.0 MiB of 1.0 GiB": the first `kept` bytes of `total` were kept. */
export function cutWords(kept: number, total: number): string {
  return `cut at ${formatBytes(kept)} of ${formatBytes(total)}`
}

/** "… cut at 16.0 MiB of 1.0 GiB", the note that ends what was cut. */
export function cutNote(kept: number, total: number): string {
  return `… ${cutWords(kept, total)}`
}

/** "… cut: the last 1.0 MiB of 40.0 MiB kept": the end was kept, the start dropped. */
export function tailCutNote(kept: number, total: number): string {
  return `… cut: the last ${formatBytes(kept)} of ${formatBytes(total)} kept`
}

/** The line cut at `max` characters (a note says how long it was). */
export function capLine(line: string, max: number = CAPS.lineChars): string {
  if (line.length <= max) return line
  return `${line.slice(0, max)} … (line cut at ${max} of ${line.length} characters)`
}

/**
 * The text with every line cut at `max` characters, for a parser's entry: anchored patterns over
 * lines of bounded length run in linear time whatever a builder prints. Linear; the text itself
 * when no line is that long. With `rest: 'digest'` a cut line ends in a digest of what was cut, so
 * that two lines differing only past the cut still differ (a comparison's input).
 */
export function capLines(
  text: string,
  max: number = CAPS.parsedLineChars,
  rest: 'drop' | 'digest' = 'drop'
): string {
  const parts: string[] = []
  let start = 0
  let cut = false
  while (start <= text.length) {
    const end = text.indexOf('\n', start)
    const stop = end < 0 ? text.length : end
    if (stop - start > max) {
      cut = true
      parts.push(
        text.slice(start, start + max) +
          (rest === 'digest' ? restDigest(text, start + max, stop) : '')
      )
    } else parts.push(text.slice(start, stop))
    if (end < 0) break
    start = end + 1
  }
  return cut ? parts.join('\n') : text
}

function restDigest(text: string, from: number, to: number): string {
  const hash = createHash('sha256').update(text.slice(from, to)).digest('hex').slice(0, 16)
  return ` …[${to - from} more characters, sha256 ${hash}]`
}

/**
 * The first `maxBytes` of a stream of text (UTF-8 bytes counted), and how much came in all. Holds
 * at most the cap, whatever arrives.
 */
export class HeadText {
  private readonly parts: Buffer[] = []
  private kept = 0
  private seen = 0
  constructor(private readonly maxBytes: number) {}

  push(chunk: string | Buffer): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.seen += buffer.length
    const room = this.maxBytes - this.kept
    if (room <= 0) return
    // Copied: a stream's chunk is not ours to hold on to. Decoded at the end, whole characters.
    const part = Buffer.from(buffer.length <= room ? buffer : buffer.subarray(0, room))
    this.parts.push(part)
    this.kept += part.length
  }

  /** Bytes that arrived in all. */
  get totalBytes(): number {
    return this.seen
  }

  get cut(): boolean {
    return this.seen > this.kept
  }

  /** What was kept, followed by the cut note on a line of its own when something was dropped. */
  text(): string {
    const kept = Buffer.concat(this.parts).toString('utf8')
    if (!this.cut) return kept
    return `${kept.replace(/\n?$/, '\n')}${cutNote(this.kept, this.seen)}\n`
  }
}

/**
 * The last lines of a stream that fit in `maxBytes` (characters counted, each line first cut at
 * CAPS.lineChars), and how much was dropped before them.
 */
export class TailLines {
  private readonly lines: string[] = []
  private first = 0
  private kept = 0
  private seen = 0
  constructor(private readonly maxBytes: number) {}

  push(raw: string): void {
    const line = capLine(raw)
    this.seen += raw.length + 1
    this.lines.push(line)
    this.kept += line.length + 1
    while (this.kept > this.maxBytes && this.first < this.lines.length - 1) {
      this.kept -= this.lines[this.first].length + 1
      this.first++
    }
    // Compact now and then, so the array does not grow with the lines dropped.
    if (this.first > 1024 && this.first * 2 > this.lines.length) {
      this.lines.splice(0, this.first)
      this.first = 0
    }
  }

  get cut(): boolean {
    return this.first > 0 || this.seen > this.kept
  }

  get length(): number {
    return this.lines.length - this.first
  }

  /** The kept lines, oldest first. */
  toArray(): string[] {
    return this.lines.slice(this.first)
  }

  /** The kept lines, after a note saying what was dropped before them when anything was. */
  withNote(): string[] {
    return this.cut ? [tailCutNote(this.kept, this.seen), ...this.toArray()] : this.toArray()
  }
}

/**
 * A file that takes lines (or text) as they come and stops writing at `maxBytes`; close() adds
 * the cut note when it stopped and waits until everything is on disk.
 */
export class CappedFile {
  private readonly stream: WriteStream
  private written = 0
  private seen = 0
  private pending = ''
  constructor(
    path: string,
    private readonly maxBytes: number,
    flags = 'w'
  ) {
    this.stream = createWriteStream(path, { flags })
    this.stream.on('error', () => undefined)
    this.stream.on('drain', () => this.flush())
  }

  write(text: string): void {
    const bytes = Buffer.byteLength(text)
    this.seen += bytes
    const room = this.maxBytes - this.written
    if (room <= 0) return
    const part = bytes <= room ? text : Buffer.from(text).subarray(0, room).toString('utf8')
    this.written += bytes <= room ? bytes : room
    // On disk at once while the disk keeps up (a main killed later loses nothing; a reader sees a
    // hung command's last line); gathered into one write while the stream drains, so lines that
    // pour in do not queue a request each.
    this.pending += part
    if (!this.stream.writableNeedDrain) this.flush()
  }

  private flush(): void {
    if (this.pending) this.stream.write(this.pending)
    this.pending = ''
  }

  get cut(): boolean {
    return this.seen > this.written
  }

  close(): Promise<void> {
    this.flush()
    if (this.cut) this.stream.write(`\n${cutNote(this.written, this.seen)}\n`)
    return new Promise(resolve => this.stream.end(() => resolve()))
  }
}

/**
 * The first and the last items of a stream, each half within `maxSize` (as `sizeOf` counts):
 * what a boot's console shows first (firmware, kernel, init) and last (why it stopped).
 */
export class HeadAndTail<T> {
  private readonly head: T[] = []
  private tail: T[] = []
  private tailStart = 0
  private headSize = 0
  private tailSize = 0
  /** Items dropped from the middle. */
  dropped = 0
  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (item: T) => number
  ) {}

  push(item: T): void {
    const size = this.sizeOf(item)
    if (!this.tail.length && this.headSize + size <= this.maxSize / 2) {
      this.head.push(item)
      this.headSize += size
      return
    }
    this.tail.push(item)
    this.tailSize += size
    while (this.tailSize > this.maxSize / 2 && this.tailStart < this.tail.length - 1) {
      this.tailSize -= this.sizeOf(this.tail[this.tailStart++])
      this.dropped++
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailStart)
      this.tailStart = 0
    }
  }

  /** The kept items in order (the head, then the tail). */
  toArray(): T[] {
    return [...this.head, ...this.tail.slice(this.tailStart)]
  }
}

/** JSON.parse of a document Nix printed, refused (a throw, like any bad JSON) past CAPS.nixJsonChars. */
export function readNixJson(text: string): unknown {
  if (text.length > CAPS.nixJsonChars) {
    throw new Error(
      `a JSON document of ${text.length} characters (read up to ${CAPS.nixJsonChars})`
    )
  }
  return JSON.parse(text)
}
