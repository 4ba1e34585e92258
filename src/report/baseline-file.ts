// The baseline on disk: this run's (from the report directory, the ISO and `nix path-info`),
// baseline.json files in and out, and boot-history.csv. The thin, impure side of baseline.ts.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Log } from '../shared/log.js'
import type { Comparison, NixInstallation, Report } from '../model/index.js'
import { errorMessage, run } from '../shared/process.js'
import { probeOutputReader } from './annotations.js'
import { BOOT_HISTORY_FILE, bootHistoryCsv } from './boot-chart.js'
import {
  baselineFrom,
  baselineJson,
  parseBaseline,
  type Baseline,
  type BaselineFacts
} from './baseline.js'
import { allowedEnv } from '../shared/child-env.js'

export const BASELINE_FILE = 'baseline.json'

/** The closure size of a store path from `nix path-info -S --json` (array or object form). */
export function parseClosureSize(json: string): number | undefined {
  try {
    const value = JSON.parse(json) as unknown
    const entries = Array.isArray(value) ? value : Object.values(value as object)
    const size = (entries[0] as { closureSize?: unknown } | undefined)?.closureSize
    return typeof size === 'number' ? size : undefined
  } catch {
    return undefined
  }
}

async function closureBytes(nix: NixInstallation, outPath: string): Promise<number | undefined> {
  const result = await run(nix.nixPath, ['path-info', '--closure-size', '--json', outPath], {
    env: allowedEnv({ env: process.env }, nix.env)
  })
  return result.exitCode === 0 ? parseClosureSize(result.stdout) : undefined
}

/** This run's baseline: the report, its probe files, the ISO's size and (when Nix says) the closure's. */
export async function currentBaseline(
  report: Report,
  reportDir: string,
  facts: BaselineFacts
): Promise<Baseline> {
  const build = report.builds.find(b => b.status === 'passed' && b.outPath)
  const sizes: BaselineFacts = {}
  if (build?.isoPath) {
    try {
      sizes.isoBytes = statSync(build.isoPath).size
    } catch {
      // gone or unreadable: not known
    }
  }
  const nix = report.setup?.nix
  if (nix && build?.outPath) sizes.closureBytes = await closureBytes(nix, build.outPath)
  return baselineFrom(report, probeOutputReader(reportDir), { ...facts, ...sizes })
}

export function writeBaselineFile(reportDir: string, baseline: Baseline): string {
  const path = join(reportDir, BASELINE_FILE)
  writeFileSync(path, baselineJson(baseline), { mode: 0o644 })
  return path
}

/** Reads a baseline.json; the error names the file and what is wrong. */
export function readBaselineFile(path: string): Baseline {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`cannot read the baseline ${path}: ${(error as Error).message}`)
  }
  try {
    return parseBaseline(text)
  } catch (error) {
    throw new Error(`the baseline ${path} is unusable: ${(error as Error).message}`)
  }
}

/** boot-history.csv in the report directory (the chart's figures), when there is a history. */
export function writeBootHistory(reportDir: string, comparison: Comparison, log?: Log): void {
  if (!comparison.history?.length) return
  try {
    writeFileSync(join(reportDir, BOOT_HISTORY_FILE), bootHistoryCsv(comparison.history), {
      mode: 0o644
    })
  } catch (error) {
    log?.warning(`${BOOT_HISTORY_FILE} was not written: ${errorMessage(error)}`)
  }
}
