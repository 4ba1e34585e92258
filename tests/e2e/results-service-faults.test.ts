// The faults GitHub's results service really gives, through the bundled action in the runner
// harness, with Azurite behind *.blob.core.windows.net over TLS so the clients take GitHub's
// paths: a rate limit that lifts, a used-up quota, a storage error in the middle of the upload,
// a cache download that stalls after its first segment, an expired or forged runtime token.
// None boots a VM: the fixture's notAnIso builds (cheaply) no ISO, so every run ends build-failed
// after the cache lookup — the whole report, upload and cache path runs.
// Each must end as the README's reliability table says: the result unchanged, a warning when
// something was lost, the report on disk (and uploaded when the service lets it), post bounded.
// Each case has a service of its own, so the cases run at once: what they cost is mostly waiting
// (the clients' backoffs, the action's retries and bounds), which does not need the CPU.
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import { runtimeToken, type FakeResultsService } from '../helpers/fake-results-service.js'
import {
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'
import { tallyCases } from '../helpers/reliability-tally.js'

tallyCases('Results service')

const TIMEOUT = 400_000
let flake: string
let jobs = 0
const runs: ActionRun[] = []
const services: FakeResultsService[] = []

beforeAll(() => {
  flake = makeFixtureFlake()
})
afterAll(async () => {
  await Promise.all(runs.map(run => run.cleanup()))
  await Promise.all(services.map(service => service.close()))
})

/** A results service for one case alone: its faults and its calls are that case's. */
async function ownService(): Promise<FakeResultsService> {
  const service = await startResultsService()
  services.push(service)
  return service
}

async function notAnIso(
  service: FakeResultsService,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const run = await runAction({
    resultsService: service,
    inputs: { ...LAB_INPUTS, flake, image: 'notAnIso', ...inputs },
    env: { ...LAB_ACTION_ENV, GITHUB_JOB: `rs-${jobs++}`, ...env }
  })
  runs.push(run)
  return run
}

/** The result unchanged, the report on disk saying what happened, post ended on its own. */
function expectCleanEnd(run: ActionRun): Report {
  expect(run.outputs.result, jobLog(run).slice(-4000)).toBe('build-failed')
  expect(run.main.exitCode).toBe(1)
  expect(run.main.timedOut).toBe(false)
  expect(run.post.exitCode).toBe(0)
  expect(run.post.timedOut).toBe(false)
  expect(run.leftovers).toEqual([])
  const report = JSON.parse(
    readFileSync(join(run.outputs['report-dir'], 'report.json'), 'utf8')
  ) as Report
  expect(report.result).toBe('build-failed')
  return report
}

const warnings = (run: ActionRun): string =>
  run.annotations
    .filter(a => a.level === 'warning')
    .map(a => `${a.title ?? ''}: ${a.message}`)
    .join('\n')

const callsOf = (service: FakeResultsService, method: string) =>
  service.calls.filter(call => call.method === method)

describe.concurrent('the results service as GitHub runs it, and its faults', () => {
  it(
    'a rate limit that lifts (6 calls answered 429, Retry-After: 1): the report is uploaded',
    async () => {
      const service = await ownService()
      service.setFaults({ failFirst: 6, status: 429, retryAfter: 1 })
      const run = await notAnIso(service)
      const report = expectCleanEnd(run)
      // The artifact client spent its own attempts on 429s; the upload as a whole went again.
      expect(callsOf(service, 'CreateArtifact').length).toBeGreaterThan(5)
      expect(jobLog(run)).toMatch(/The report upload failed \(.*429.*\); trying again in \d+ s/)
      expect(report.upload?.status, warnings(run)).toBe('uploaded')
      const files = await artifactOf(service, run)
      expect(JSON.parse(files['report.json']).result).toBe('build-failed')
    },
    TIMEOUT
  )

  it(
    'the storage quota is used up: a warning, no retries, the report kept on disk',
    async () => {
      const service = await ownService()
      service.setFaults({ quotaExceeded: true })
      const run = await notAnIso(service)
      const report = expectCleanEnd(run)
      expect(report.upload?.status).toBe('failed')
      expect(warnings(run)).toMatch(/Report upload failed.*storage quota has been hit/)
      expect(warnings(run)).toContain(run.outputs['report-dir'])
      expect(callsOf(service, 'CreateArtifact')).toHaveLength(1)
      expect(run.outputs['artifact-id']).toBe('')
    },
    TIMEOUT
  )

  it(
    'a storage error in the middle of the upload: tried again, uploaded',
    async () => {
      const service = await ownService()
      // The first blob write works, the next 8 answer 500 InternalError (past the SDK's retries).
      service.setFaults({ storageErrors: { after: 1, count: 8 } })
      const run = await notAnIso(service, { cache: 'false' })
      const report = expectCleanEnd(run)
      const writes = service.azure!.requests.filter(r => r.op.startsWith('Put'))
      expect(writes[0].outcome).toBe(201)
      expect(writes.filter(r => r.outcome === 500).length).toBeGreaterThan(0)
      expect(jobLog(run)).toMatch(/The report upload failed \(.*\); trying again/)
      expect(report.upload?.status, warnings(run)).toBe('uploaded')
      await artifactOf(service, run)
    },
    TIMEOUT
  )

  it(
    'a cache download that stalls after its first segment: the segment bound ends it, a warning',
    async () => {
      const service = await ownService()
      // The first run looks up (and misses) the key this image has; an entry is then put there,
      // larger than the SDK's 4 MiB download block, and every ranged GET after the first stalls.
      expectCleanEnd(await notAnIso(service, { 'cache-timeout': '15' }))
      const lookupCall = callsOf(service, 'GetCacheEntryDownloadURL')[0]
      expect(lookupCall, 'the first run looked the image up').toBeDefined()
      const { key, version } = lookupCall.body as { key: string; version: string }
      await service.seedCache({ key, version, data: randomBytes(10 * 1024 * 1024) })
      const reads = service.azure!.requests.length
      service.setFaults({ stallDownloadAfter: 1 })
      const run = await notAnIso(service, { 'cache-timeout': '15' })
      const report = expectCleanEnd(run)
      const gets = service.azure!.requests.slice(reads).filter(r => r.op === 'GetBlob')
      // The SDK's segmented download: ranged GETs of 4 MiB blocks, several under way at once
      // (so they reach the store in any order); one is answered, the others stall.
      expect(
        gets.every(r => /^bytes=\d+-\d+$/.test(r.range ?? '')),
        JSON.stringify(gets)
      ).toBe(true)
      expect(new Set(gets.map(r => r.range)).size).toBeGreaterThan(1)
      expect(gets.filter(r => r.outcome === 206)).toHaveLength(1)
      expect(gets.some(r => r.outcome === 'stalled')).toBe(true)
      // The library's segment timeout (segmentTimeoutInMs, from cache-timeout) ended it.
      expect(warnings(run)).toMatch(
        /image cache was not restored.*Aborting cache download as the download time exceeded/
      )
      expect(report.upload?.status, warnings(run)).toBe('uploaded')
    },
    TIMEOUT
  )

  for (const [what, token] of [
    ['expired', () => runtimeToken({ expiresIn: -60 })],
    ['forged', () => runtimeToken({ forged: true })]
  ] as const) {
    it(
      `${what === 'expired' ? 'an' : 'a'} ${what} runtime token: refused (401), a warning, the report kept on disk`,
      async () => {
        const service = await ownService()
        const run = await notAnIso(service, {}, { ACTIONS_RUNTIME_TOKEN: token() })
        const report = expectCleanEnd(run)
        expect(report.upload?.status).toBe('failed')
        expect(warnings(run)).toMatch(/Report upload failed.*\(401\)/)
        expect(run.outputs['artifact-id']).toBe('')
      },
      TIMEOUT
    )
  }
})
