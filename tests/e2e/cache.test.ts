// The image cache through the bundled action (dist/, run as a runner runs it) with the real
// @actions/cache against the fake results service. The Nix store here is shared by every test, so
// each test makes its derivations fresh (a nonce, a fresh key) and deletes the first run's outputs
// from the store before the second run: what the second run has, it got from the cache.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import { addLayeredImage, deleteStorePaths, makeFixtureFlake } from '../helpers/lab.js'
import { builtDerivations } from '../helpers/cache-reuse.js'

const runs: ActionRun[] = []
const services: FakeResultsService[] = []
afterAll(async () => {
  await Promise.all(services.map(service => service.close()))
  await Promise.all(runs.map(run => run.cleanup()))
})

async function service(): Promise<FakeResultsService> {
  const started = await startResultsService()
  services.push(started)
  return started
}

async function run(
  results: FakeResultsService,
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_INPUTS,
      memory: '512',
      'boot-timeout': '240',
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: { ...LAB_ACTION_ENV, ...env },
    resultsService: results
  })
  runs.push(result)
  return result
}

/** Keys of the image cache's entries (other parts of the action save entries of their own). */
function imageEntries(results: FakeResultsService): string[] {
  return results.caches.map(entry => entry.key).filter(key => key.startsWith('boot-image-vm-v2-'))
}

/** The local report.json (post has added the cache save to it). */
function report(result: ActionRun): Report {
  return JSON.parse(readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8'))
}

/** Derivations whose builds started, from the build's internal-json events. */
function buildActivities(result: ActionRun): string[] {
  return builtDerivations(result.outputs['report-dir'])
}

/** Makes paths absent from the (shared) store, as on a fresh runner. */
function deleteFromStore(paths: string[]): void {
  deleteStorePaths(paths)
  for (const path of paths) expect(existsSync(path), path).toBe(false)
}

describe('the image cache (cache: true) through the bundled action', () => {
  it('restores an unchanged image on the second run instead of building it', async () => {
    const results = await service()
    // An image that takes root's key at boot: its .drv is the same whatever each run's key is.
    const flake = makeFixtureFlake()
    const payload = addLayeredImage(flake, 'bootKeyImage')
    const first = await run(results, { flake, image: 'layeredImage' })
    const firstReport = report(first)
    expect(first.outputs.result, jobLog(first).slice(-3000)).toBe('passed')
    expect(firstReport.cache?.status).toBe('miss')
    const outPath = firstReport.builds[0].outPath as string
    expect(buildActivities(first)).toHaveLength(2)
    expect(firstReport.cache?.save?.status).toBe('saved')
    expect(imageEntries(results)).toEqual([firstReport.cache?.key])
    expect(first.post.exitCode).toBe(0)

    // A fresh runner: neither the image nor what it was built from is in the store.
    deleteFromStore([outPath, payload])
    const second = await run(results, { flake, image: 'layeredImage' })
    const secondReport = report(second)
    // Its own key, offered at boot, let it in.
    expect(second.outputs.result, jobLog(second).slice(-3000)).toBe('passed')
    const offeredKey = (result: ActionRun): string =>
      /ssh\.authorized_keys\.root=(ssh-ed25519 \S+)/.exec(
        readFileSync(join(result.outputs['report-dir'], 'vm/qemu-args.txt'), 'utf8')
      )?.[1] ?? ''
    expect(offeredKey(second)).toMatch(/^ssh-ed25519 /)
    expect(offeredKey(second)).not.toBe(offeredKey(first))
    expect(secondReport.cache?.status).toBe('hit')
    expect(secondReport.cache?.key).toBe(firstReport.cache?.key)
    expect(secondReport.cache?.bytesRestored).toBeGreaterThan(1_000_000)
    expect(secondReport.builds[0].outPath).toBe(outPath)
    expect(secondReport.builds[0].built).toEqual([])
    expect(buildActivities(second)).toEqual([])
    expect(readFileSync(join(second.outputs['report-dir'], 'vm/serial.log'), 'utf8')).toContain(
      'root key from the credential ssh.authorized_keys.root'
    )
    // An exact hit saves nothing.
    expect(secondReport.cache?.save?.status).toBe('skipped')
    expect(imageEntries(results)).toHaveLength(1)
    expect(second.summary).toMatch(/### Cache/)
    expect(second.annotations.filter(a => /cache/i.test(a.message))).toEqual([])
    console.log(
      `hit: restore ${secondReport.cache?.restoreMs} ms, ${secondReport.cache?.bytesRestored} B; ` +
        `first save: ${firstReport.cache?.save?.saveMs} ms, ${firstReport.cache?.save?.bytes} B`
    )
  })

  it('saves nothing for an image that bakes the key and builds nothing else, and says so in one line', async () => {
    const results = await service()
    // bootImage bakes the run's key and is the only derivation of its closure: nothing reusable.
    // The cache needs no boot to show it: boot-timeout 5 ends the run after the build.
    const flake = makeFixtureFlake()
    const result = await run(results, { flake, image: 'bootImage', 'boot-timeout': '5' })
    const cache = report(result).cache
    expect(report(result).builds[0]?.status, jobLog(result).slice(-3000)).toBe('passed')
    expect(cache?.status).toBe('miss')
    expect(cache?.key).toMatch(/^boot-image-vm-v2-.*-bootImage\.[0-9a-f]{8}-d-[0-9a-f]{32}$/)
    expect(cache?.save?.status).toBe('skipped')
    expect(cache?.save?.detail).toBe("nothing to cache: every built path depends on the run's key")
    expect(result.summary).toContain(
      "**Save: skipped**: nothing to cache: every built path depends on the run's key"
    )
    expect(imageEntries(results)).toEqual([])
    expect(
      results.calls.filter(
        c => c.method === 'CreateCacheEntry' && /boot-image-vm-v2-/.test(JSON.stringify(c.body))
      )
    ).toEqual([])
    expect(result.post.exitCode).toBe(0)
    console.log(`nothing to cache: evaluations ${JSON.stringify(cache?.evaluations)}`)
  }, 300_000)

  it('only warns when the cache service is down, and the result is unaffected', async () => {
    const results = await service()
    // Only the cache calls fail. The report upload, which the action bounds on its own (120 s,
    // proved in hardening-faults.test.ts), would otherwise spend that bound here to no purpose.
    results.setFaults({ failAll: 500, only: 'CacheService' })
    const flake = makeFixtureFlake()
    const result = await run(results, { flake, image: 'bootImage' })
    expect(result.outputs.result, jobLog(result).slice(-3000)).toBe('passed')
    expect(result.main.exitCode).toBe(0)
    expect(result.post.exitCode).toBe(0)
    const cache = report(result).cache
    expect(cache?.status).toBe('error')
    // The restore found the service down; the post step does not try again (it ends quickly).
    expect(cache?.save?.status).toBe('skipped')
    expect(cache?.save?.detail).toMatch(/failed during the restore/)
    expect(result.annotations.filter(a => a.level === 'error')).toEqual([])
    expect(result.annotations.some(a => a.level === 'warning' && /restore/i.test(a.message))).toBe(
      true
    )
    // Neither the image cache nor the baseline tries the service again: post saves nothing.
    expect(results.calls.filter(c => c.method === 'CreateCacheEntry')).toEqual([])
    expect(jobLog(result)).toMatch(/does not become the baseline: the cache service failed/)
    expect(result.post.timedOut).toBe(false)
    expect(result.leftovers).toEqual([])
    console.log(`outage: main ${result.main.durationMs} ms, post ${result.post.durationMs} ms`)
  }, 600_000)
})
