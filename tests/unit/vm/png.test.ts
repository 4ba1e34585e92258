import { describe, expect, it } from 'vitest'
import * as zlib from 'node:zlib'
import { crc32, encodePng, parsePpm, ppmToPng } from '../../../src/vm/png.js'

function chunks(png: Buffer): { type: string; body: Buffer; crc: number }[] {
  const out: { type: string; body: Buffer; crc: number }[] = []
  let offset = 8
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.subarray(offset + 4, offset + 8).toString('latin1')
    const body = png.subarray(offset + 8, offset + 8 + length)
    out.push({ type, body, crc: png.readUInt32BE(offset + 8 + length) })
    offset += 12 + length
  }
  return out
}

describe('png', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926)
    const data = Buffer.from('IEND')
    expect(crc32(data)).toBe(0xae426082)
  })

  it('parses a P6 PPM with a comment and a small maxval', () => {
    const ppm = Buffer.concat([
      Buffer.from('P6\n# made by QEMU\n2 1\n15\n'),
      Buffer.from([15, 0, 0, 0, 15, 0])
    ])
    const image = parsePpm(ppm)
    expect(image).toMatchObject({ width: 2, height: 1 })
    expect([...image.rgb]).toEqual([255, 0, 0, 0, 255, 0])
  })

  it('rejects what is not a binary PPM', () => {
    expect(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toThrow(/P6/)
    expect(() => parsePpm(Buffer.from('P6\n4 4\n255\n\x00'))).toThrow(/truncated/)
  })

  it('writes a valid PNG whose pixels round-trip', () => {
    const width = 3
    const height = 2
    const rgb = Buffer.from([...Array(width * height * 3).keys()].map(i => (i * 37) % 256))
    const png = encodePng({ width, height, rgb })
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const parts = chunks(png)
    expect(parts.map(part => part.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
    for (const part of parts) {
      expect(part.crc).toBe(crc32(Buffer.concat([Buffer.from(part.type), part.body])))
    }
    const header = parts[0].body
    expect(header.readUInt32BE(0)).toBe(width)
    expect(header.readUInt32BE(4)).toBe(height)
    expect([header[8], header[9], header[10], header[11], header[12]]).toEqual([8, 2, 0, 0, 0])
    const raw = zlib.inflateSync(parts[1].body)
    expect(raw.length).toBe((width * 3 + 1) * height)
    for (let y = 0; y < height; y++) {
      expect(raw[y * (width * 3 + 1)]).toBe(0)
      const row = raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1))
      expect(row.equals(rgb.subarray(y * width * 3, (y + 1) * width * 3))).toBe(true)
    }
  })

  it('converts a PPM screendump to PNG', () => {
    const ppm = Buffer.concat([Buffer.from('P6 1 1 255\n'), Buffer.from([1, 2, 3])])
    const png = ppmToPng(ppm)
    expect(zlib.inflateSync(chunks(png)[1].body)).toEqual(Buffer.from([0, 1, 2, 3]))
  })
})
