// Screenshots: PNG from QEMU itself, the PPM encoder only when QEMU refuses the format argument.
// The QEMU here (Debian 12's 7.2) writes PNG, and tests/integration/vm/machine.test.ts proves that
// against it; a QEMU older than 7.1 cannot exist here, so this stand-in answers as QEMU 7.0's QMP
// does (GenericError "Parameter 'format' is unexpected") and writes a PPM as its screendump does.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { QmpError } from '../../../src/vm/qmp.js'
import { screendumpPng, type ScreenshotWay } from '../../../src/vm/screenshot.js'

const dir = mkdtempSync(join(tmpdir(), 'screenshot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A 2x1 PPM: one red pixel, one blue. */
const PPM = Buffer.concat([Buffer.from('P6\n2 1\n255\n'), Buffer.from([255, 0, 0, 0, 0, 255])])

function qemu70(): {
  calls: Record<string, unknown>[]
  execute: (c: string, a?: Record<string, unknown>) => Promise<unknown>
} {
  const calls: Record<string, unknown>[] = []
  return {
    calls,
    async execute(_command, args = {}) {
      calls.push(args)
      if ('format' in args) throw new QmpError('GenericError', "Parameter 'format' is unexpected")
      writeFileSync(String(args.filename), PPM)
      return {}
    }
  }
}

describe('screendumpPng', () => {
  it('asks QEMU for PNG first, and trusts it when it answers', async () => {
    const calls: Record<string, unknown>[] = []
    const way: ScreenshotWay = {}
    const png = join(dir, 'direct.png')
    await screendumpPng(
      { execute: async (_c, args = {}) => void calls.push(args) },
      { png, ppm: join(dir, 'direct.ppm') },
      way
    )
    expect(calls).toEqual([{ filename: png, format: 'png' }])
    expect(way.qemuWritesPng).toBe(true)
  })

  it('falls back to PPM and the encoder when QEMU refuses the format, and remembers it', async () => {
    const qmp = qemu70()
    const way: ScreenshotWay = {}
    const paths = { png: join(dir, 'old.png'), ppm: join(dir, 'old.ppm') }
    await screendumpPng(qmp, paths, way)
    expect(way.qemuWritesPng).toBe(false)
    expect(qmp.calls).toEqual([{ filename: paths.png, format: 'png' }, { filename: paths.ppm }])
    expect(readFileSync(paths.png).subarray(1, 4).toString()).toBe('PNG')
    expect(existsSync(paths.ppm)).toBe(false)
    // The next screenshot of the same machine goes straight to PPM.
    await screendumpPng(qmp, paths, way)
    expect(qmp.calls).toHaveLength(3)
    expect(qmp.calls[2]).toEqual({ filename: paths.ppm })
  })

  it('a timeout is not a refusal: no fallback, the error stands', async () => {
    const way: ScreenshotWay = {}
    await expect(
      screendumpPng(
        {
          execute: () => Promise.reject(new Error('QMP screendump timed out after 5000 ms'))
        },
        { png: join(dir, 't.png'), ppm: join(dir, 't.ppm') },
        way
      )
    ).rejects.toThrow(/timed out/)
    expect(way.qemuWritesPng).toBeUndefined()
  })
})
