// What the process runner keeps of a child's output: lines split where the Actions runner splits
// them (`\r\n`, `\r`, `\n`), each line bounded, and a bounded tail of each stream. A child's output
// is untrusted text: nothing here grows with it, and nothing scans it twice.
import { cutWords } from './bounds.js'

/** The longest line handed on whole; the rest of a longer line is cut, and the cut said. */
export const MAX_LINE_BYTES = 64 * 1024
/** The default tail of each stream kept in memory. */
export const MAX_OUTPUT_BYTES = 1024 * 1024
/**
 * The whole answer of a query read as one document (a store closure, its path-info JSON): far
 * beyond a real one (a NixOS closure's `nix path-info --json -r` is a few MiB), and still bounded.
 */
export const MAX_QUERY_BYTES = 256 * 1024 * 1024

const CR = 0x0d
const LF = 0x0a

/** How much of a stream (or a line) was kept, and of how much. */
export interface Cut {
  keptBytes: number
  totalBytes: number
  /** "cut at 1.0 MiB of 1.2 GiB" */
  note: string
}

export function cutAt(keptBytes: number, totalBytes: number): Cut {
  return {
    keptBytes,
    totalBytes,
    note: cutWords(keptBytes, totalBytes)
  }
}

/** "1.0 MiB": the size in the unit that keeps it short (bounds.ts says it for everyone). */

/**
 * Splits a byte stream into lines at `\r\n`, `\r` or `\n` (a `\r\n` split across two chunks is
 * one line end), handing each line on as it completes and the last one at the end. A line longer
 * than maxLineBytes keeps its first maxLineBytes, followed by ` … [line cut at … of …]`.
 */
export class LineSplitter {
  private parts: Buffer[] = []
  private keptBytes = 0
  private lineBytes = 0
  /** The last line ended at a `\r`: a `\n` right after it ends nothing. */
  private afterCr = false

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes = MAX_LINE_BYTES
  ) {}

  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let start = 0
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]
      if (byte !== CR && byte !== LF) continue
      if (byte === LF && this.afterCr && i === start) {
        start = i + 1
        this.afterCr = false
        continue
      }
      this.take(bytes.subarray(start, i))
      this.emit()
      this.afterCr = byte === CR
      start = i + 1
    }
    if (start < bytes.length) {
      this.afterCr = false
      this.take(bytes.subarray(start))
    }
  }

  end(): void {
    if (this.lineBytes > 0) this.emit()
    this.afterCr = false
  }

  private take(piece: Buffer): void {
    this.lineBytes += piece.length
    const room = this.maxLineBytes - this.keptBytes
    if (room <= 0 || !piece.length) return
    const kept = piece.length <= room ? piece : piece.subarray(0, room)
    // Copied: the chunk's buffer is not ours to hold on to.
    this.parts.push(Buffer.from(kept))
    this.keptBytes += kept.length
  }

  private emit(): void {
    const text = Buffer.concat(this.parts).toString('utf8')
    const cut = this.lineBytes > this.keptBytes ? cutAt(this.keptBytes, this.lineBytes) : undefined
    this.parts = []
    this.keptBytes = 0
    this.lineBytes = 0
    this.onLine(cut ? `${text} … [line ${cut.note}]` : text)
  }
}

/** The last maxBytes of a stream, and how many bytes it had in all. */
export class OutputTail {
  private chunks: Buffer[] = []
  private keptBytes = 0
  private totalBytes = 0

  constructor(private readonly maxBytes = MAX_OUTPUT_BYTES) {}

  get bytes(): number {
    return this.totalBytes
  }

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length
    this.chunks.push(chunk)
    this.keptBytes += chunk.length
    while (this.keptBytes - this.chunks[0].length >= this.maxBytes) {
      this.keptBytes -= this.chunks.shift()!.length
    }
  }

  /** The kept tail as text (starting at a whole character), and the cut when there was one. */
  read(): { text: string; cut?: Cut } {
    let tail = Buffer.concat(this.chunks)
    if (tail.length > this.maxBytes) {
      tail = tail.subarray(tail.length - this.maxBytes)
      // The tail may begin inside a character: skip its continuation bytes (10xxxxxx).
      let start = 0
      while (start < 3 && start < tail.length && (tail[start] & 0xc0) === 0x80) start++
      tail = tail.subarray(start)
    }
    const text = tail.toString('utf8')
    return tail.length < this.totalBytes
      ? { text, cut: cutAt(tail.length, this.totalBytes) }
      : { text }
  }
}
