// A small unified diff of two texts (a probe's normalised output then and now). Pure.
import { capLines } from '../shared/bounds.js'

export const DIFF_MAX_LINES = 40
/** Lines of each text compared: a probe's output is the guest's, and may be any length. */
const DIFF_INPUT_LINES = 20_000

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number }

function diffOps(a: string[], b: string[]): Op[] {
  // Common head and tail first: most outputs differ in a few lines.
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const midA = a.slice(start, endA)
  const midB = b.slice(start, endB)
  const ops: Op[] = []
  for (let i = 0; i < start; i++) ops.push({ kind: ' ', line: a[i], a: i, b: i })
  if (midA.length * midB.length > 4_000_000) {
    // Too big for the table: all old lines out, all new lines in.
    midA.forEach((line, i) => ops.push({ kind: '-', line, a: start + i, b: start }))
    midB.forEach((line, i) => ops.push({ kind: '+', line, a: endA, b: start + i }))
  } else {
    // Longest common subsequence, walked from the front.
    const n = midA.length
    const m = midB.length
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] =
          midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
      }
    }
    let i = 0
    let j = 0
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i], a: start + i++, b: start + j++ })
      } else if (j < m && (i === n || lcs[i][j + 1] > lcs[i + 1][j])) {
        ops.push({ kind: '+', line: midB[j], a: start + i, b: start + j++ })
      } else {
        ops.push({ kind: '-', line: midA[i], a: start + i++, b: start + j })
      }
    }
  }
  for (let k = 0; endA + k < a.length; k++) {
    ops.push({ kind: ' ', line: a[endA + k], a: endA + k, b: endB + k })
  }
  return ops
}

/**
 * A unified diff of two texts (`---`/`+++` header, `@@` hunks with `context` lines around each
 * change), cut after maxLines lines with a note. '' when the texts are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  options: { context?: number; maxLines?: number; labels?: [string, string] } = {}
): string {
  if (before === after) return ''
  const context = options.context ?? 2
  const maxLines = options.maxLines ?? DIFF_MAX_LINES
  const [labelA, labelB] = options.labels ?? ['before', 'after']
  // Untrusted text: lines cut for the comparison, and only the first DIFF_INPUT_LINES compared.
  const split = (text: string): string[] =>
    text === '' ? [] : capLines(text).replace(/\n$/, '').split('\n', DIFF_INPUT_LINES)
  const ops = diffOps(split(before), split(after))
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter(i => i >= 0)
  const lines = [`--- ${labelA}`, `+++ ${labelB}`]
  let index = 0
  while (index < changed.length) {
    const first = Math.max(0, changed[index] - context)
    let last = Math.min(ops.length - 1, changed[index] + context)
    while (index + 1 < changed.length && changed[index + 1] - context <= last + 1) {
      index++
      last = Math.min(ops.length - 1, changed[index] + context)
    }
    index++
    const hunk = ops.slice(first, last + 1)
    const countA = hunk.filter(op => op.kind !== '+').length
    const countB = hunk.filter(op => op.kind !== '-').length
    const startA = hunk[0].a + (countA ? 1 : 0)
    const startB = hunk[0].b + (countB ? 1 : 0)
    lines.push(`@@ -${startA},${countA} +${startB},${countB} @@`)
    for (const op of hunk) lines.push(op.kind + op.line)
  }
  if (lines.length > maxLines) {
    const left = lines.length - maxLines
    return [...lines.slice(0, maxLines), `… ${left} more diff line${left === 1 ? '' : 's'}`].join(
      '\n'
    )
  }
  return lines.join('\n')
}
