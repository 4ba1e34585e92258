// Annotations for what the stages do not annotate themselves: the build stage annotates each root
// failing derivation and the VM stage the TCG fallback; everything else that failed is said here.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Log } from '../shared/log.js'
import type { ProbeResult, Report } from '../model/index.js'

/** Reads a probe's saved output by its report-relative path; undefined when it cannot. */
export type ProbeOutputReader = (file: string) => string | undefined

/** GitHub shows only the first ten error annotations of a step; leave room for the build's. */
const MAX_PROBE_ERRORS = 5
const MAX_MESSAGE = 4000

const clip = (text: string): string =>
  text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE - 1) + '…' : text

export function probeOutputReader(reportDir: string): ProbeOutputReader {
  return file => {
    try {
      return readFileSync(join(reportDir, file), 'utf8')
    } catch {
      return undefined
    }
  }
}

function annotateBuilds(report: Report, log: Log): void {
  for (const build of report.builds) {
    if (build.status === 'eval-failed') {
      log.error(clip(build.error ?? 'Nix could not evaluate the image.'), {
        title: `Evaluation failed (${build.context})`
      })
    } else if (build.status === 'build-failed' && build.failures.length === 0) {
      // No derivation to blame, so the build stage had nothing to annotate.
      log.error(clip(build.error ?? 'nix build failed; see build/build.log in the artifact.'), {
        title: `Build failed (${build.context})`
      })
    }
  }
}

function annotateBoot(report: Report, log: Log): void {
  const boot = report.vm?.boot
  if (boot?.status !== 'failed') return
  const parts = [boot.error ?? 'The image did not boot to a working SSH server.']
  const quoted = boot.consoleFailure?.excerpt ?? boot.panic
  if (quoted) parts.push(`Console:\n${quoted}`)
  parts.push('See vm/serial.log and vm/*.png in the artifact.')
  log.error(clip(parts.join('\n')), { title: 'Boot failed' })
}

function failedRequired(probe: ProbeResult): boolean {
  return probe.required && (probe.exitCode !== 0 || probe.timedOut || probe.missing)
}

function describeProbe(probe: ProbeResult): string {
  if (probe.timedOut) return `timed out after ${Math.round(probe.durationMs / 1000)} s`
  if (probe.missing) return 'its command was not found on the guest'
  if (probe.exitCode === null) return `ended by ${probe.signal ?? 'a signal'}`
  return `exited with code ${probe.exitCode}`
}

function annotateProbes(report: Report, log: Log): void {
  const failed = (report.vm?.probes ?? []).filter(failedRequired)
  for (const probe of failed.slice(0, MAX_PROBE_ERRORS)) {
    log.error(clip(`\`${probe.command}\` ${describeProbe(probe)}. Output: ${probe.file}.`), {
      title: `Probe ${probe.name} failed`
    })
  }
  const rest = failed.slice(MAX_PROBE_ERRORS)
  if (rest.length) {
    log.error(clip(`Also failed: ${rest.map(p => p.name).join(', ')}. See probes/.`), {
      title: `${rest.length} more required probes failed`
    })
  }
}

function annotateTest(report: Report, log: Log): void {
  const test = report.vm?.test
  if (!test || (test.exitCode === 0 && !test.timedOut)) return
  const what = test.timedOut ? 'timed out' : `exited with code ${test.exitCode ?? 'none'}`
  log.error(`The test command ${what}. Output: ${test.file}.`, { title: 'Test failed' })
}

/** Unit names from `systemctl list-units --failed --plain` output. */
export function failedUnits(output: string): string[] {
  const unit =
    /^\s*(?:[●*]\s*)?(\S+\.(?:service|socket|mount|automount|target|timer|path|device|swap|scope|slice))\s/
  return output
    .split('\n')
    .map(line => unit.exec(line)?.[1])
    .filter((name): name is string => Boolean(name))
}

/**
 * The stdout section of a saved probe file (probes/<name>.txt: a header, `--- stdout ---`, the
 * output, `--- stderr ---`, …); text without those markers is returned as it is.
 */
export function probeStdout(text: string): string {
  const start = text.indexOf('--- stdout ---\n')
  if (start < 0) return text
  const body = text.slice(start + '--- stdout ---\n'.length)
  const end = body.lastIndexOf('--- stderr ---')
  return end < 0 ? body : body.slice(0, end)
}

function annotateGuestHealth(report: Report, log: Log, read?: ProbeOutputReader): void {
  const probes = report.vm?.probes ?? []
  const stdout = (file: string): string | undefined => {
    const text = read?.(file)
    return text === undefined ? undefined : probeStdout(text)
  }
  const state = probes.find(p => p.name === 'system-state')
  // A required system-state probe that failed is already an error above.
  if (state && !failedRequired(state)) {
    const output = stdout(state.file)?.trim()
    const last = output?.split('\n').pop()?.trim()
    if (last !== undefined && last !== 'running') {
      log.warning(`systemctl is-system-running says '${last}', not 'running'.`, {
        title: 'Guest degraded'
      })
    } else if (last === undefined && state.exitCode !== 0) {
      log.warning(`The system-state probe ${describeProbe(state)}: the guest is not 'running'.`, {
        title: 'Guest degraded'
      })
    }
  }
  const units = probes.find(p => p.name === 'failed-units')
  const names = units ? failedUnits(stdout(units.file) ?? '') : []
  if (names.length) {
    const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '')
    log.warning(`Failed units on the guest: ${shown}. See ${units?.file}.`, {
      title: `${names.length} failed unit${names.length === 1 ? '' : 's'}`
    })
  }
}

function annotateUpload(report: Report, log: Log): void {
  const upload = report.upload
  if (!upload) return
  if (upload.status === 'failed') {
    log.warning(clip(`The report was not uploaded: ${upload.detail}`), { title: 'Upload failed' })
  }
  if (upload.withheld.length) {
    log.warning(
      clip(`Withheld from the artifact because they held a secret: ${upload.withheld.join(', ')}`),
      { title: 'Files withheld' }
    )
  }
}

/**
 * Says what went wrong as annotations. `read` (optional) returns a probe's saved output so the
 * guest's state can be checked; main passes probeOutputReader(reportDir).
 */
export function annotate(report: Report, log: Log, read?: ProbeOutputReader): void {
  annotateBuilds(report, log)
  annotateBoot(report, log)
  annotateProbes(report, log)
  annotateTest(report, log)
  annotateGuestHealth(report, log, read)
  annotateUpload(report, log)
}
