// Which CPU architecture a bootable ISO is for, read from the image itself (pure over a byte
// reader, a thin file reader beside): its UEFI boot loader (EFI/BOOT/BOOTAA64.EFI or BOOTX64.EFI,
// in the ISO 9660 tree or in the FAT image its El Torito catalog names for UEFI), else the Linux
// kernel it carries (arm64 Image header magic "ARM\x64" at byte 56; x86 boot protocol "HdrS" at
// 0x202). Independent of the machine that built it and of the flake attribute's system.
import { closeSync, openSync, readSync } from 'node:fs'
import { findFatFile, type ByteReader } from './fat-dir.js'
import type { ArchMode, GuestArch } from '../model/index.js'

const SECTOR = 2048

export interface IsoArchitecture {
  arch: GuestArch
  /** Where it was read, e.g. "EFI/BOOT/BOOTAA64.EFI in the El Torito UEFI image". */
  evidence: string
}

/** The removable-media boot loader's file name per architecture (UEFI specification, 3.5.1.1). */
const EFI_LOADERS: [string, GuestArch][] = [
  ['BOOTAA64.EFI', 'aarch64'],
  ['BOOTX64.EFI', 'x86_64']
]

interface IsoEntry {
  name: string
  lba: number
  size: number
  directory: boolean
}

/** ISO 9660 names without the version (";1") and a trailing dot, upper-case. */
function isoName(raw: string): string {
  return raw.replace(/;\d*$/, '').replace(/\.$/, '').toUpperCase()
}

/** The records of one directory extent (records never cross a sector; zero length pads to it). */
function directory(read: ByteReader, lba: number, size: number): IsoEntry[] {
  const data = read(lba * SECTOR, Math.min(size, 1 << 20))
  const found: IsoEntry[] = []
  let at = 0
  while (at < data.length) {
    const length = data[at]
    if (!length) {
      at = (Math.floor(at / SECTOR) + 1) * SECTOR
      continue
    }
    if (at + 33 > data.length) break
    const nameLength = data[at + 32]
    const raw = data.toString('latin1', at + 33, at + 33 + nameLength)
    // "\0" and "\x01" are the directory itself and its parent.
    if (nameLength !== 1 || raw.charCodeAt(0) > 1) {
      found.push({
        name: isoName(raw),
        lba: data.readUInt32LE(at + 2),
        size: data.readUInt32LE(at + 10),
        directory: (data[at + 25] & 0x02) !== 0
      })
    }
    at += length
  }
  return found
}

/** The volume descriptors from sector 16 up to the terminator (at most 16). */
function volumeDescriptors(read: ByteReader): Buffer[] {
  const descriptors: Buffer[] = []
  for (let sector = 16; sector < 32; sector++) {
    const descriptor = read(sector * SECTOR, SECTOR)
    if (descriptor.length < SECTOR || descriptor.toString('latin1', 1, 6) !== 'CD001') break
    if (descriptor[0] === 255) break
    descriptors.push(descriptor)
  }
  return descriptors
}

function rootDirectory(read: ByteReader): IsoEntry[] {
  const primary = volumeDescriptors(read).find(d => d[0] === 1)
  if (!primary) return []
  return directory(read, primary.readUInt32LE(156 + 2), primary.readUInt32LE(156 + 10))
}

/** The entry at `path` (upper-case names), or undefined. */
function lookup(read: ByteReader, root: IsoEntry[], path: string[]): IsoEntry | undefined {
  let entries = root
  for (const [index, name] of path.entries()) {
    const entry = entries.find(e => e.name === name)
    if (!entry || index === path.length - 1) return entry
    if (!entry.directory) return undefined
    entries = directory(read, entry.lba, entry.size)
  }
  return undefined
}

/** Byte offsets of the images the El Torito catalog marks for UEFI (platform 0xEF). */
function elToritoUefiImages(read: ByteReader): number[] {
  const record = volumeDescriptors(read).find(
    d => d[0] === 0 && d.toString('latin1', 7, 30) === 'EL TORITO SPECIFICATION'
  )
  if (!record) return []
  const catalog = read(record.readUInt32LE(0x47) * SECTOR, SECTOR)
  if (catalog.length < 64 || catalog[0] !== 0x01) return []
  const images: number[] = []
  // Entry 1, the default entry, boots on the validation entry's platform.
  if (catalog[1] === 0xef) images.push(catalog.readUInt32LE(32 + 8) * SECTOR)
  for (let at = 64; at + 32 <= catalog.length;) {
    const header = catalog[at]
    if (header !== 0x90 && header !== 0x91) break
    const platform = catalog[at + 1]
    const count = catalog.readUInt16LE(at + 2)
    for (let i = 1; i <= count && at + 32 * (i + 1) <= catalog.length; i++) {
      if (platform === 0xef) images.push(catalog.readUInt32LE(at + 32 * i + 8) * SECTOR)
    }
    at += 32 * (count + 1)
    if (header === 0x91) break
  }
  return images
}

/** The architecture a Linux kernel image is built for, from its header. */
export function kernelArchitecture(head: Buffer): GuestArch | undefined {
  if (head.length >= 60 && head.toString('latin1', 56, 60) === 'ARM\x64') return 'aarch64'
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'x86_64'
  return undefined
}

const KERNEL_NAME = /^(?:VMLINUZ|BZIMAGE|IMAGE|KERNEL)/

function fromKernel(read: ByteReader, root: IsoEntry[]): IsoArchitecture | undefined {
  const boot = lookup(read, root, ['BOOT'])
  const places: [string, IsoEntry[]][] = [['', root]]
  if (boot?.directory) places.unshift(['BOOT/', directory(read, boot.lba, boot.size)])
  for (const [dir, entries] of places) {
    for (const entry of entries.filter(e => !e.directory && KERNEL_NAME.test(e.name))) {
      const arch = kernelArchitecture(read(entry.lba * SECTOR, 1024))
      if (arch) return { arch, evidence: `the ${arch} Linux kernel ${dir}${entry.name}` }
    }
  }
  return undefined
}

/** The ISO's architecture, or undefined when it shows neither a known EFI loader nor a kernel. */
export function isoArchitecture(read: ByteReader): IsoArchitecture | undefined {
  const root = rootDirectory(read)
  for (const [loader, arch] of EFI_LOADERS) {
    if (lookup(read, root, ['EFI', 'BOOT', loader])) {
      return { arch, evidence: `EFI/BOOT/${loader} in the ISO` }
    }
  }
  for (const image of elToritoUefiImages(read)) {
    for (const [loader, arch] of EFI_LOADERS) {
      if (findFatFile(read, image, ['EFI', 'BOOT', loader])) {
        return { arch, evidence: `EFI/BOOT/${loader} in the El Torito UEFI image` }
      }
    }
  }
  return fromKernel(read, root)
}

/** isoArchitecture over a file. Throws only when the file cannot be opened. */
export function readIsoArchitecture(path: string): IsoArchitecture | undefined {
  const fd = openSync(path, 'r')
  try {
    return isoArchitecture((offset, length) => {
      const buffer = Buffer.alloc(length)
      const got = readSync(fd, buffer, 0, length, offset)
      return buffer.subarray(0, got)
    })
  } finally {
    closeSync(fd)
  }
}

/**
 * The guest's architecture: input 'arch' when it names one, else the ISO's own; an ISO that shows
 * neither a known UEFI loader nor a kernel is taken for a PC, and the evidence says so.
 */
export function guestArchitecture(mode: ArchMode, iso: string): IsoArchitecture {
  if (mode !== 'auto') return { arch: mode, evidence: `input 'arch' is '${mode}'` }
  let read: IsoArchitecture | undefined
  try {
    read = iso ? readIsoArchitecture(iso) : undefined
  } catch {
    read = undefined
  }
  return (
    read ?? {
      arch: 'x86_64',
      evidence:
        "the ISO shows no UEFI boot loader or kernel this action knows: x86_64 assumed (input 'arch' says otherwise)"
    }
  )
}
