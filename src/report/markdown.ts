// Small, pure helpers for markdown that must stay valid whatever text goes into it: escaping for
// table cells and HTML, code fences that user text cannot close, and UTF-8 byte-safe truncation.

/** UTF-8 size of a string, the unit GitHub's summary limit counts in. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g

/** Removes terminal colour codes and other control characters (keeps tabs and newlines). */
export function stripControl(text: string): string {
  return text.replace(ANSI, '').replace(CONTROL, '')
}

/** Escapes text for HTML (a <summary>, an attribute, an inline tag). */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

/** Escapes user text for one markdown table cell or inline position: one line, no markup. */
export function escapeCell(text: string, maxChars = 300): string {
  const flat = stripControl(text).replace(/\s*[\r\n]+\s*/g, ' ')
  const short = flat.length > maxChars ? flat.slice(0, maxChars - 1) + '…' : flat
  return escapeHtml(short).replace(/[\\`*_[\]~|#!]/g, character => '\\' + character)
}

/** Inline code for a cell (a path, a command): backticks inside fall back to escaped text. */
export function codeCell(text: string, maxChars = 300): string {
  const flat = stripControl(text).replace(/\s*[\r\n]+\s*/g, ' ')
  if (!flat) return ''
  if (/[`<>]/.test(flat) || flat.length > maxChars) return escapeCell(flat, maxChars)
  return '`' + flat.replace(/\|/g, '\\|') + '`'
}

/** Keeps at most maxBytes UTF-8 bytes from the start, never splitting a character. */
export function headBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let end = Math.max(0, maxBytes)
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

/** Keeps at most maxBytes UTF-8 bytes from the end, never splitting a character. */
export function tailBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let start = bytes.length - Math.max(0, maxBytes)
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++
  return bytes.subarray(start).toString('utf8')
}

export interface Clipped {
  text: string
  /** What was cut, in words ('' when nothing was). */
  cut: string
}

/**
 * The end of a log, at most maxLines lines of at most maxLineChars characters and maxBytes bytes
 * in all: the end of a failing build's log is where the reason is.
 */
export function clipTail(
  lines: readonly string[],
  limits: { maxLines: number; maxBytes: number; maxLineChars?: number }
): Clipped {
  const maxLineChars = limits.maxLineChars ?? 2000
  const kept: string[] = []
  let bytes = 0
  let longLines = 0
  for (let index = lines.length - 1; index >= 0 && kept.length < limits.maxLines; index--) {
    let line = stripControl(lines[index] ?? '').replace(/\r$/, '')
    if (line.length > maxLineChars) {
      line = '…' + line.slice(-(maxLineChars - 1))
      longLines++
    }
    const size = byteLength(line) + 1
    if (bytes + size > limits.maxBytes) {
      if (kept.length === 0) kept.push(tailBytes(line, limits.maxBytes))
      break
    }
    kept.push(line)
    bytes += size
  }
  kept.reverse()
  const dropped = lines.length - kept.length
  const parts: string[] = []
  if (dropped > 0) parts.push(`${dropped} earlier line${dropped === 1 ? '' : 's'}`)
  if (longLines > 0) parts.push(`the start of ${longLines} long line${longLines === 1 ? '' : 's'}`)
  return { text: kept.join('\n'), cut: parts.join(' and ') }
}

/** A fenced code block no line of the text can close: the fence outgrows any backtick run. */
export function fence(text: string, info = 'text'): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map(run => run.length))
  const marks = '`'.repeat(Math.max(3, longest + 1))
  return `${marks}${info}\n${text}\n${marks}`
}

/** A collapsible block; the body is markdown and is separated by blank lines as GitHub needs. */
export function details(summary: string, body: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${escapeHtml(summary)}</summary>\n\n${body}\n\n</details>`
}

/** A markdown table; cells must already be escaped. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** 950 ms → "0.9 s", 75 s → "1 min 15 s". */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return ''
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
}
