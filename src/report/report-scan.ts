// The scan before the report's upload: which files may go, which hold the value of a secret (in
// their name or content; withheld and deleted by artifacts.ts), and which are left out and why.
import { createReadStream } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import type { Secrets } from '../shared/secrets.js'

/** Characters the artifact service refuses in a file path inside an artifact. */
const INVALID_PATH_CHARS = /[":<>|*?\r\n]/

/** The report's entries sorted: files to upload, files that hold a secret, what is left out and why. */
export interface SortedReport {
  /** Absolute paths. */
  files: string[]
  /** Report-relative. */
  withheld: string[]
  /** Report-relative, each with why. */
  excluded: string[]
}

/** Every entry of the report directory, sorted into the three. */
export async function sortReportFiles(reportDir: string, secrets: Secrets): Promise<SortedReport> {
  const sorted: SortedReport = { files: [], withheld: [], excluded: [] }
  const needles = secretNeedles(secrets)
  for (const entry of await listReport(reportDir)) {
    if (entry.kind !== 'file') {
      sorted.excluded.push(`${entry.path} (${entry.kind})`)
      continue
    }
    const hit = await holdsSecret(reportDir, entry.path, needles)
    if (hit instanceof Error) {
      sorted.excluded.push(`${entry.path} (unreadable: ${hit.message})`)
    } else if (hit) {
      sorted.withheld.push(entry.path)
    } else if (INVALID_PATH_CHARS.test(entry.path)) {
      sorted.excluded.push(`${entry.path} (a character the artifact service refuses)`)
    } else {
      sorted.files.push(join(reportDir, entry.path))
    }
  }
  return sorted
}

/** Report-relative paths (with /) of every file that holds a secret value, in name or content. */
export async function scanForSecrets(reportDir: string, secrets: Secrets): Promise<string[]> {
  const needles = secretNeedles(secrets)
  const hits: string[] = []
  for (const entry of await listReport(reportDir)) {
    if (entry.kind === 'file' && (await holdsSecret(reportDir, entry.path, needles)) === true) {
      hits.push(entry.path)
    }
  }
  return hits
}

interface ReportEntry {
  /** Report-relative, with /. */
  path: string
  kind: 'file' | 'directory symlink' | 'broken symlink' | 'special file' | 'link out of the report'
}

async function listReport(reportDir: string, prefix = ''): Promise<ReportEntry[]> {
  return listUnder(reportDir, await realpath(reportDir), prefix)
}

/** Whether a link's target is inside the report (only the report's own files are uploaded). */
async function insideReport(realReport: string, path: string): Promise<boolean> {
  const target = await realpath(path).catch(() => undefined)
  return target !== undefined && target.startsWith(realReport + sep)
}

async function listUnder(
  reportDir: string,
  realReport: string,
  prefix: string
): Promise<ReportEntry[]> {
  const out: ReportEntry[] = []
  const dirents = await readdir(join(reportDir, prefix), { withFileTypes: true })
  for (const dirent of dirents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix ? `${prefix}/${dirent.name}` : dirent.name
    if (dirent.isDirectory()) {
      out.push(...(await listUnder(reportDir, realReport, path)))
    } else if (dirent.isFile()) {
      out.push({ path, kind: 'file' })
    } else if (dirent.isSymbolicLink()) {
      // The artifact client zips what a link points at: scan that, and only link files.
      const target = await stat(join(reportDir, path)).catch(() => undefined)
      const kind = !target
        ? 'broken symlink'
        : !(await insideReport(realReport, join(reportDir, path)))
          ? 'link out of the report'
          : target.isFile()
            ? 'file'
            : target.isDirectory()
              ? 'directory symlink'
              : 'special file'
      out.push({ path, kind })
    } else {
      out.push({ path, kind: 'special file' })
    }
  }
  return out
}

function secretNeedles(secrets: Secrets): Buffer[] {
  return secrets.values().map(value => Buffer.from(value, 'utf8'))
}

/** Whether the file's name or content holds a needle; an Error when it cannot be read. */
async function holdsSecret(
  reportDir: string,
  path: string,
  needles: Buffer[]
): Promise<boolean | Error> {
  if (needles.length === 0) return false
  if (needles.some(needle => Buffer.from(path).includes(needle))) return true
  // Streamed, with an overlap so a value split across two chunks is still found.
  const overlap = Math.max(...needles.map(needle => needle.length)) - 1
  let tail = Buffer.alloc(0)
  try {
    for await (const chunk of createReadStream(join(reportDir, path))) {
      const window = Buffer.concat([tail, chunk as Buffer])
      if (needles.some(needle => window.includes(needle))) return true
      tail = window.subarray(Math.max(0, window.length - overlap))
    }
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
  return false
}
