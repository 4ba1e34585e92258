// Input `boot: false`: the built ISO goes up as an artifact of its own for a later job to boot
// (input `iso`). The report's uploader does it, so the ISO gets the same secret scan (a file
// holding a secret is withheld), the same retries and the same free-name rule for matrix legs.
import { dirname } from 'node:path'
import type { Inputs } from '../inputs/index.js'
import type { Log } from '../shared/log.js'
import type { Report, UploadResult } from '../model/index.js'
import type { Secrets } from '../shared/secrets.js'
import { uploadReport } from './artifacts.js'

/**
 * An ISO is hundreds of MiB to a few GiB, where a report is a few MiB: it gets longer than the
 * report's 120 s.
 */
const ISO_UPLOAD_BUDGET_MS = 30 * 60_000

/** Uploads the directory holding the booted build's ISO (in a NixOS image: the ISO alone). */
export async function uploadIsoArtifact(
  report: Report,
  inputs: Pick<Inputs, 'image' | 'retentionDays'>,
  options: { secrets: Secrets; log: Log }
): Promise<UploadResult> {
  const iso = report.builds[0]?.isoPath
  if (report.result !== 'passed' || !iso) {
    return { status: 'skipped', detail: `no ISO to upload (${report.result})`, withheld: [] }
  }
  return uploadReport({
    reportDir: dirname(iso),
    // Artifact names take no '/' (an attribute path may hold dots, never slashes).
    name: `${inputs.image}-iso`,
    retentionDays: inputs.retentionDays,
    timeoutMs: ISO_UPLOAD_BUDGET_MS,
    ...options
  })
}
