// The `iso` input is checked up front: a path that is no ISO 9660 image is an input error naming
// `iso`, before any QEMU starts. Real files in a temp directory; no mocks.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS, parseInputs, type InputName } from '../../../src/inputs/index.js'
import { checkIsoFile } from '../../../src/iso/iso-file.js'

const dir = mkdtempSync(join(tmpdir(), 'iso-file-'))

/** An image with the primary volume descriptor's signature where ISO 9660 puts it. */
function isoLike(name: string, mbrInFront = false): string {
  const bytes = Buffer.alloc(40_000)
  if (mbrInFront) bytes.writeUInt16BE(0x55aa, 510) // an isohybrid image's MBR boot signature
  bytes.write('\x01CD001\x01', 16 * 2048, 'latin1')
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

function inputs(given: Partial<Record<InputName, string>>) {
  return parseInputs(name => given[name] ?? INPUT_DEFAULTS[name])
}

describe('checkIsoFile', () => {
  it('accepts ISO 9660 images, hybrid ones too, and makes the path absolute', () => {
    expect(checkIsoFile(isoLike('plain.iso'))).toEqual({ path: join(dir, 'plain.iso') })
    expect(checkIsoFile(isoLike('hybrid.iso', true))).toEqual({ path: join(dir, 'hybrid.iso') })
  })

  it('refuses a missing path, a directory, a short file and a file without the signature', () => {
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'not an image\n'.repeat(5000))
    const zip = join(dir, 'boot-image.zip')
    writeFileSync(zip, Buffer.from('PK\x03\x04'))
    expect(checkIsoFile(join(dir, 'missing.iso'))).toMatchObject({
      problem: expect.stringMatching(/does not exist/)
    })
    expect(checkIsoFile(dir)).toMatchObject({ problem: expect.stringMatching(/is not a file/) })
    for (const path of [text, zip]) {
      expect(checkIsoFile(path)).toMatchObject({
        problem: expect.stringMatching(/is not an ISO 9660 image \(no 'CD001' signature/)
      })
    }
  })
})

describe("input 'iso'", () => {
  it('is empty by default (build the image) and absolute when given', () => {
    expect(inputs({}).iso).toBe('')
    expect(inputs({ iso: ` ${isoLike('given.iso')} ` }).iso).toBe(join(dir, 'given.iso'))
  })

  it('with boot: false leaves nothing to do: an input error naming boot', () => {
    expect(inputs({ boot: 'false' }).boot).toBe(false)
    expect(() => inputs({ iso: isoLike('both.iso'), boot: 'false' })).toThrow(
      /^Input 'boot': 'false' with 'iso' given leaves nothing to do/
    )
  })

  it('that is not an ISO is an input error naming iso', () => {
    const text = join(dir, 'report.json')
    writeFileSync(text, '{}')
    expect(() => inputs({ iso: text })).toThrow(/^Input 'iso': '.*report\.json' is not an ISO 9660/)
  })
})
