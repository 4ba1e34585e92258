// The ISO's architecture from the image alone: the UEFI loader in the ISO 9660 tree, the one in the
// El Torito UEFI image's FAT, the kernel's header. Images are assembled here byte by byte (as
// mkisofs and mformat lay them out); the real fixture ISOs, from grub-mkrescue, are read in
// tests/integration/vm/aarch64.test.ts.
import { describe, expect, it } from 'vitest'
import { findFatFile } from '../../../src/iso/fat-dir.js'
import { isoArchitecture, kernelArchitecture } from '../../../src/iso/iso-arch.js'

const SECTOR = 2048

/** An ISO 9660 directory record. */
function record(name: string, lba: number, size: number, directory: boolean): Buffer {
  const nameBytes = Buffer.from(name, 'latin1')
  const length = 33 + nameBytes.length + ((33 + nameBytes.length) % 2)
  const r = Buffer.alloc(length)
  r[0] = length
  r.writeUInt32LE(lba, 2)
  r.writeUInt32LE(size, 10)
  r[25] = directory ? 2 : 0
  r[32] = nameBytes.length
  nameBytes.copy(r, 33)
  return r
}

type Tree = { [name: string]: Tree | Buffer }

/** An ISO: the tree from sector 20 on, and optionally an El Torito catalog with a UEFI image. */
function iso(tree: Tree, uefiImage?: Buffer): Buffer {
  const sectors: Buffer[] = []
  let next = 20
  const place = (data: Buffer): number => {
    const lba = next
    const padded = Buffer.alloc(Math.max(SECTOR, Math.ceil(data.length / SECTOR) * SECTOR))
    data.copy(padded)
    sectors.push(padded)
    next += padded.length / SECTOR
    return lba
  }
  const dir = (entries: Tree): { lba: number; size: number } => {
    const records = [record('\0', 0, 0, true), record('\x01', 0, 0, true)]
    for (const [name, value] of Object.entries(entries)) {
      if (Buffer.isBuffer(value))
        records.push(record(`${name};1`, place(value), value.length, false))
      else {
        const child = dir(value)
        records.push(record(name, child.lba, child.size, true))
      }
    }
    const data = Buffer.concat(records)
    return { lba: place(data), size: data.length }
  }
  const root = dir(tree)
  const head = Buffer.alloc(20 * SECTOR)
  const descriptor = (sector: number, type: number): Buffer => {
    const d = head.subarray(sector * SECTOR, (sector + 1) * SECTOR)
    d[0] = type
    d.write('CD001', 1, 'latin1')
    d[6] = 1
    return d
  }
  record('\0', root.lba, root.size, true).copy(descriptor(16, 1), 156)
  if (uefiImage) {
    const bootRecord = descriptor(17, 0)
    bootRecord.write('EL TORITO SPECIFICATION', 7, 'latin1')
    const catalog = Buffer.alloc(SECTOR)
    catalog[0] = 0x01 // validation entry, platform 0 (the BIOS image, not looked at)
    catalog[32] = 0x88
    catalog[64] = 0x91 // the last section header: one UEFI entry
    catalog[65] = 0xef
    catalog.writeUInt16LE(1, 66)
    catalog[96] = 0x88
    catalog.writeUInt32LE(place(uefiImage), 96 + 8)
    bootRecord.writeUInt32LE(place(catalog), 0x47)
  }
  descriptor(uefiImage ? 18 : 17, 255)
  return Buffer.concat([head, ...sectors])
}

/** A FAT12 image (512-byte sectors and clusters) holding EFI/BOOT/<loader>. */
function fatImage(loader: string): Buffer {
  const image = Buffer.alloc(512 * 8)
  image.writeUInt16LE(512, 11)
  image[13] = 1 // sectors per cluster
  image.writeUInt16LE(1, 14) // reserved sectors
  image[16] = 1 // FATs
  image.writeUInt16LE(16, 17) // root entries: one sector
  image.writeUInt16LE(1, 22) // sectors per FAT
  image.writeUInt16LE(0xaa55, 510)
  const entry = (at: number, name: string, directory: boolean, cluster: number): void => {
    image.write(name.padEnd(11, ' '), at, 'latin1')
    image[at + 11] = directory ? 0x10 : 0x20
    image.writeUInt16LE(cluster, at + 26)
    image.writeUInt32LE(directory ? 0 : 4, at + 28)
  }
  const cluster = (n: number): number => (3 + n - 2) * 512 // root dir at sector 2, data at 3
  // A long-name entry and a volume label first: both skipped.
  image[2 * 512] = 0x41
  image[2 * 512 + 11] = 0x0f
  image.write('EFISYSTEM  ', 2 * 512 + 32, 'latin1')
  image[2 * 512 + 32 + 11] = 0x08
  entry(2 * 512 + 64, 'EFI', true, 2)
  entry(cluster(2), 'BOOT', true, 3)
  const [base, extension] = loader.split('.')
  entry(cluster(3), base.padEnd(8, ' ') + extension, false, 4)
  image.write('MZ\0\0', cluster(4), 'latin1')
  return image
}

const reader =
  (image: Buffer) =>
  (offset: number, length: number): Buffer =>
    image.subarray(offset, offset + length)

/** A kernel's first KiB with the arm64 Image magic or the x86 boot protocol's. */
function kernel(arch: 'aarch64' | 'x86_64'): Buffer {
  const head = Buffer.alloc(1024)
  if (arch === 'aarch64') head.write('ARM\x64', 56, 'latin1')
  else head.write('HdrS', 0x202, 'latin1')
  return head
}

describe('isoArchitecture', () => {
  it('reads the UEFI loader in the ISO tree (NixOS ISOs carry EFI/BOOT there)', () => {
    const arm = iso({ EFI: { BOOT: { 'BOOTAA64.EFI': Buffer.from('MZ') } } })
    expect(isoArchitecture(reader(arm))).toEqual({
      arch: 'aarch64',
      evidence: 'EFI/BOOT/BOOTAA64.EFI in the ISO'
    })
    const pc = iso({ EFI: { BOOT: { 'BOOTX64.EFI': Buffer.from('MZ') } } })
    expect(isoArchitecture(reader(pc))?.arch).toBe('x86_64')
  })

  it('reads the loader in the El Torito UEFI image (grub-mkrescue puts it only there)', () => {
    const arm = iso({ BOOT: { 'GRUB.CFG': Buffer.from('x') } }, fatImage('BOOTAA64.EFI'))
    expect(isoArchitecture(reader(arm))).toEqual({
      arch: 'aarch64',
      evidence: 'EFI/BOOT/BOOTAA64.EFI in the El Torito UEFI image'
    })
    const pc = iso({}, fatImage('BOOTX64.EFI'))
    expect(isoArchitecture(reader(pc))?.arch).toBe('x86_64')
  })

  it("falls back to the kernel's header (a BIOS-only ISO has no UEFI loader)", () => {
    expect(isoArchitecture(reader(iso({ BOOT: { VMLINUZ: kernel('x86_64') } })))).toEqual({
      arch: 'x86_64',
      evidence: 'the x86_64 Linux kernel BOOT/VMLINUZ'
    })
    expect(isoArchitecture(reader(iso({ BOOT: { IMAGE: kernel('aarch64') } })))?.arch).toBe(
      'aarch64'
    )
  })

  it('says nothing for an ISO without either, or for what is no ISO', () => {
    expect(isoArchitecture(reader(iso({ README: Buffer.from('hello') })))).toBeUndefined()
    expect(isoArchitecture(reader(iso({ BOOT: { VMLINUZ: Buffer.alloc(1024) } })))).toBeUndefined()
    expect(isoArchitecture(reader(Buffer.alloc(64 * SECTOR)))).toBeUndefined()
    expect(isoArchitecture(reader(Buffer.alloc(100)))).toBeUndefined()
  })
})

describe('kernelArchitecture', () => {
  it('knows the arm64 Image magic and the x86 boot protocol header', () => {
    expect(kernelArchitecture(kernel('aarch64'))).toBe('aarch64')
    expect(kernelArchitecture(kernel('x86_64'))).toBe('x86_64')
    expect(kernelArchitecture(Buffer.from('\x1f\x8b gzip'))).toBeUndefined()
  })
})

describe('findFatFile', () => {
  it('finds a file by its 8.3 path, and nothing for a wrong path or a non-FAT image', () => {
    const image = fatImage('BOOTAA64.EFI')
    const found = findFatFile(reader(image), 0, ['EFI', 'BOOT', 'BOOTAA64.EFI'])
    expect(found && image.toString('latin1', found.offset, found.offset + 2)).toBe('MZ')
    expect(found?.size).toBe(4)
    expect(findFatFile(reader(image), 0, ['EFI', 'BOOT', 'BOOTX64.EFI'])).toBeUndefined()
    expect(findFatFile(reader(image), 0, ['EFI', 'BOOT'])).toBeUndefined()
    expect(findFatFile(reader(Buffer.alloc(4096)), 0, ['EFI'])).toBeUndefined()
  })
})
