// A file's bytes inside a FAT12/16/32 file system image (pure over a byte reader): enough to find
// EFI/BOOT/BOOT<ARCH>.EFI in the EFI system partition image an El Torito catalog points at.
// Directories are read one cluster deep: the few entries of EFI/ and EFI/BOOT/ fit in one.

/** Bytes at an absolute offset of the image (fewer, or none, past its end). */
export type ByteReader = (offset: number, length: number) => Buffer

interface Fat {
  /** Offset of cluster 2, the first data cluster. */
  dataStart: number
  clusterBytes: number
  /** FAT12/16: the root directory's fixed region; FAT32: undefined (it is a cluster). */
  rootRegion?: { offset: number; length: number }
  rootCluster: number
}

/** The boot sector's geometry, or undefined when this is no FAT file system. */
function readBootSector(read: ByteReader, base: number): Fat | undefined {
  const sector = read(base, 512)
  if (sector.length < 512 || sector.readUInt16LE(510) !== 0xaa55) return undefined
  const bytesPerSector = sector.readUInt16LE(11)
  const sectorsPerCluster = sector.readUInt8(13)
  const reserved = sector.readUInt16LE(14)
  const fats = sector.readUInt8(16)
  const rootEntries = sector.readUInt16LE(17)
  const fatSize = sector.readUInt16LE(22) || sector.readUInt32LE(36)
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || !sectorsPerCluster || !fats) {
    return undefined
  }
  const rootOffset = base + (reserved + fats * fatSize) * bytesPerSector
  const rootLength = rootEntries * 32
  const rootSectors = Math.ceil(rootLength / bytesPerSector)
  return {
    dataStart: rootOffset + rootSectors * bytesPerSector,
    clusterBytes: sectorsPerCluster * bytesPerSector,
    rootRegion: rootEntries ? { offset: rootOffset, length: rootLength } : undefined,
    rootCluster: rootEntries ? 0 : sector.readUInt32LE(44)
  }
}

interface Entry {
  name: string
  directory: boolean
  cluster: number
  size: number
}

/** The 8.3 entries of one directory region (long-name entries, labels and deleted ones skipped). */
function entries(region: Buffer): Entry[] {
  const found: Entry[] = []
  for (let at = 0; at + 32 <= region.length; at += 32) {
    const first = region[at]
    if (first === 0) break
    const attributes = region[at + 11]
    if (first === 0xe5 || attributes === 0x0f || attributes & 0x08) continue
    const base = region.toString('latin1', at, at + 8).trimEnd()
    const extension = region.toString('latin1', at + 8, at + 11).trimEnd()
    found.push({
      name: (extension ? `${base}.${extension}` : base).toUpperCase(),
      directory: (attributes & 0x10) !== 0,
      cluster: (region.readUInt16LE(at + 20) << 16) | region.readUInt16LE(at + 26),
      size: region.readUInt32LE(at + 28)
    })
  }
  return found
}

function clusterOffset(fat: Fat, cluster: number): number {
  return fat.dataStart + (cluster - 2) * fat.clusterBytes
}

/**
 * The offset and size of the file at `path` (upper-case 8.3 names, e.g. ['EFI', 'BOOT',
 * 'BOOTAA64.EFI']) in the FAT image starting at `base`, or undefined.
 */
export function findFatFile(
  read: ByteReader,
  base: number,
  path: string[]
): { offset: number; size: number } | undefined {
  const fat = readBootSector(read, base)
  if (!fat) return undefined
  let region = fat.rootRegion
    ? read(fat.rootRegion.offset, fat.rootRegion.length)
    : read(clusterOffset(fat, fat.rootCluster), fat.clusterBytes)
  for (const [index, name] of path.entries()) {
    const entry = entries(region).find(e => e.name === name)
    if (!entry || entry.cluster < 2) return undefined
    const last = index === path.length - 1
    if (last)
      return entry.directory
        ? undefined
        : { offset: clusterOffset(fat, entry.cluster), size: entry.size }
    if (!entry.directory) return undefined
    region = read(clusterOffset(fat, entry.cluster), fat.clusterBytes)
  }
  return undefined
}
