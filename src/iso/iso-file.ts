// The `iso` input: a file an earlier job built (actions/download-artifact), checked before anything
// starts, so a wrong path or a wrong file is an input error, not a boot that times out.
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

/**
 * Where an ISO 9660 image carries its signature: the primary volume descriptor at sector 16
 * (2048-byte sectors), whose byte 1 starts "CD001". El Torito and isohybrid images (an MBR in
 * front, for USB sticks) keep it there too.
 */
const SIGNATURE_OFFSET = 16 * 2048 + 1
const SIGNATURE = 'CD001'

/** The absolute path of `path` when it is an ISO 9660 image, else what is wrong with it. */
export function checkIsoFile(path: string): { path: string } | { problem: string } {
  const absolute = resolve(path)
  let size: number
  try {
    const stat = statSync(absolute)
    if (!stat.isFile()) return { problem: `'${path}' is not a file.` }
    size = stat.size
  } catch {
    return {
      problem: `'${path}' does not exist; give the path of an ISO (e.g. where actions/download-artifact put it).`
    }
  }
  const notIso = `'${path}' is not an ISO 9660 image (no 'CD001' signature at byte ${SIGNATURE_OFFSET}); give the .iso file the build produced, not the artifact's zip or a directory.`
  if (size < SIGNATURE_OFFSET + SIGNATURE.length) return { problem: notIso }
  const bytes = Buffer.alloc(SIGNATURE.length)
  const fd = openSync(absolute, 'r')
  try {
    readSync(fd, bytes, 0, bytes.length, SIGNATURE_OFFSET)
  } finally {
    closeSync(fd)
  }
  return bytes.toString('latin1') === SIGNATURE ? { path: absolute } : { problem: notIso }
}
