// Issue 22, item 5: every parser of text the action did not write (tests/helpers/untrusted-parsers.ts)
// is linear on a 1 MB line, whatever its shape: a super-linear pattern (unanchored `[^\n]*X[^\n]*`,
// nested quantifiers) takes seconds on lines a tenth that long. The figure (under 100 ms a
// line) is the bench's (`npm run bench -- parsers`); here, a guard no linear parser comes near.
// And the bounds every buffer of untrusted text goes through.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { drv, PARSERS, shapeTimes } from '../helpers/untrusted-parsers.js'
import { BuildEvents } from '../../src/build/events.js'
import {
  CappedFile,
  capLines,
  CAPS,
  cutNote,
  HeadAndTail,
  HeadText,
  TailLines
} from '../../src/shared/bounds.js'
/**
 * Not a speed target (that is the bench's `parsers` figure: < 100 ms a line): a guard. A linear
 * parser takes milliseconds on these lines; a super-linear one takes minutes, so the guard fails it
 * on any machine and never a linear one on a busy machine.
 */
const SUPER_LINEAR_MS = 2_000

const MiB = 1024 * 1024

describe('every parser of untrusted text is linear on a 1 MB line', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(name, () => {
      const slow = Object.entries(shapeTimes(parse))
        .filter(([, ms]) => ms >= SUPER_LINEAR_MS)
        .map(([shape, ms]) => `${shape}: ${ms.toFixed(0)} ms`)
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
