// The fallback for a QEMU older than 7.1, whose screendump writes only PPM (screenshot.ts asks
// for PNG first): a PPM parser and a small PNG encoder, no dependencies.
import { deflateSync } from 'node:zlib'

export interface RgbImage {
  width: number
  height: number
  /** width * height * 3 bytes, row by row. */
  rgb: Buffer
}

/** Parses a binary PPM (P6, maxval 255 or less). */
export function parsePpm(data: Buffer): RgbImage {
  let offset = 0
  const token = (): string => {
    for (;;) {
      while (offset < data.length && /\s/.test(String.fromCharCode(data[offset]))) offset++
      if (data[offset] !== 0x23) break // '#': a comment to the end of the line
      while (offset < data.length && data[offset] !== 0x0a) offset++
    }
    const start = offset
    while (offset < data.length && !/\s/.test(String.fromCharCode(data[offset]))) offset++
    return data.subarray(start, offset).toString('latin1')
  }
  if (token() !== 'P6') throw new Error('not a binary PPM (P6) image')
  const width = Number(token())
  const height = Number(token())
  const maxval = Number(token())
  offset++ // the single white-space byte after maxval
  if (!(width > 0 && height > 0 && maxval > 0 && maxval < 256)) {
    throw new Error(`unsupported PPM header ${width}x${height} maxval ${maxval}`)
  }
  const size = width * height * 3
  if (data.length - offset < size) throw new Error('PPM image data is truncated')
  let rgb = data.subarray(offset, offset + size)
  if (maxval !== 255) rgb = Buffer.from(rgb.map(v => Math.round((v * 255) / maxval)))
  return { width, height, rgb: Buffer.from(rgb) }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export function crc32(data: Buffer): number {
  let crc = 0xffffffff
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), body])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typed))
  return Buffer.concat([length, typed, crc])
}

/** An 8-bit RGB PNG (filter 0 on every row). */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, rgb } = image
  const stride = width * 3
  const raw = Buffer.alloc((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0
    rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride)
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 2 // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0))
  ])
}

export function ppmToPng(ppm: Buffer): Buffer {
  return encodePng(parsePpm(ppm))
}
