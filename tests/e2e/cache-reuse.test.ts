// The image cache on an image that bakes the run's key (as the seed's and the reference flake's
// do), through the bundled action with the real @actions/cache against the fake results service:
// its .drv changes with every key, so the entry must hold only what does not depend on the key,
// and never what a substituter serves. Fixture bakedKeyImage: the ISO (bakes the key) depends on
// cacheExpensive (~20 s of sha256, independent of the key) and cacheServed (independent of the
// key, served by a file:// binary cache made here, a stand-in for cache.nixos.org).
// The cache needs no boot to be proven: boot-timeout 5 ends each run just after the build.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parsePathInfo } from '../../src/cache/keys.js'
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
import { builtDerivations, nix, setUpBakedKeyImage, unpackEntry } from '../helpers/cache-reuse.js'
import { deleteStorePaths } from '../helpers/lab.js'

const runs: ActionRun[] = []
const services: FakeResultsService[] = []
afterAll(async () => {
  await Promise.all(services.map(service => service.close()))
  await Promise.all(runs.map(run => run.cleanup()))
})

function report(result: ActionRun): Report {
  return JSON.parse(readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8'))
}

describe('the image cache on an image that bakes the run key', () => {
  it('run 2 restores the expensive derivation, builds only what depends on the key, and never stores what the substituter serves', async () => {
    const results = await startResultsService()
    services.push(results)
    const { flake, nonce, env, expensive, served, extraNixConf, actionEnv } = setUpBakedKeyImage()
    const run = async (): Promise<ActionRun> => {
      const result = await runAction({
        inputs: {
          ...LAB_INPUTS,
          flake,
          image: 'bakedKeyImage',
          memory: '512',
          'boot-timeout': '5',
          probes: BUSYBOX_PROBES,
          'extra-nix-conf': extraNixConf
        },
        env: { ...LAB_ACTION_ENV, ...actionEnv },
        resultsService: results
      })
      runs.push(result)
      return result
    }

    const first = await run()
    const firstReport = report(first)
    // The build passed; the 5 s boot timeout ends the run there.
    expect(firstReport.builds[0]?.status, jobLog(first).slice(-3000)).toBe('passed')
    expect(first.outputs.result).toBe('boot-failed')
    expect(firstReport.cache?.status).toBe('miss')
    const firstBuilt = builtDerivations(first.outputs['report-dir'])
    expect(firstBuilt.some(drv => drv.endsWith('-boot-image-vm-expensive.drv'))).toBe(true)
    expect(firstBuilt.some(drv => drv.endsWith('-boot-image-vm-baked.iso.drv'))).toBe(true)
    // Substituted, not built.
    expect(firstBuilt.some(drv => drv.endsWith('-boot-image-vm-served.drv'))).toBe(false)
    expect(firstReport.cache?.save?.status, firstReport.cache?.save?.detail).toBe('saved')
    expect(firstReport.cache?.save?.detail).toMatch(/does not depend on the run's key/)
    expect(firstReport.cache?.save?.detail).toMatch(/left out 1 paths the substituters serve/)

    const entries = results.caches.filter(entry => entry.key.startsWith('boot-image-vm-v2-'))
    expect(entries.map(entry => entry.key)).toEqual([firstReport.cache?.key])
    const entry = unpackEntry(entries[0].data, join(flake, '..', `${nonce}-entry`))
    expect(entry.stored).toContain(expensive)
    expect(entry.narinfoPaths.sort()).toEqual([...entry.stored].sort())
    // Never the ISO (it bakes the key), never the served path.
    expect(entry.stored.filter(path => path.endsWith('.iso'))).toEqual([])
    expect(entry.stored).not.toContain(served)
    // The rest is at most the devshell's environment (tiny); the size is the expensive path's.
    expect(entry.stored.filter(path => path !== expensive && !path.endsWith('-env'))).toEqual([])
    const [expensiveInfo] = parsePathInfo(nix(['path-info', '--json', expensive], env))
    const entryBytes = firstReport.cache?.save?.bytes ?? 0
    expect(entryBytes).toBeGreaterThan(expensiveInfo.narSize * 0.95)
    expect(entryBytes).toBeLessThan(expensiveInfo.narSize * 1.1)

    // A fresh runner: none of it is in the store.
    deleteStorePaths([firstReport.builds[0].outPath as string, expensive, served])
    expect(existsSync(expensive) || existsSync(served)).toBe(false)

    const second = await run()
    const secondReport = report(second)
    expect(secondReport.builds[0]?.status, jobLog(second).slice(-3000)).toBe('passed')
    // Another key, another image .drv; the same derivations beside it: the same entry, exactly.
    expect(secondReport.builds[0].drvPath).not.toBe(firstReport.builds[0].drvPath)
    expect(secondReport.cache?.key).toBe(firstReport.cache?.key)
    expect(secondReport.cache?.matchedKey).toBe(firstReport.cache?.key)
    expect(secondReport.cache?.status).toBe('partial')
    // The expensive path only: the entry's devshell `-env` wrapper is not in what this run
    // computed it uses (the devshell's build closure), so `nix develop` rebuilds it (tiny).
    expect(secondReport.cache?.detail).toMatch(
      /restored 1 store paths \(4\.\d MiB\) that do not depend on the run's key; still built: the 1 derivation\(s\) that depend on the run's key \(boot-image-vm-baked\.iso\)/
    )
    // Only the key-dependent derivation was built; the expensive one was restored, the served
    // one came from the substituter again.
    expect(
      builtDerivations(second.outputs['report-dir']).map(drv => drv.replace(/^.*?-/, ''))
    ).toEqual(['boot-image-vm-baked.iso.drv'])
    expect(existsSync(expensive) && existsSync(served)).toBe(true)
    expect(secondReport.cache?.save?.status).toBe('skipped')
    expect(results.caches.filter(e => e.key.startsWith('boot-image-vm-v2-'))).toHaveLength(1)
    expect(second.summary).toMatch(
      /still built: the 1 derivation\(s\) that depend on the run's key/
    )
    expect(second.annotations.filter(a => /cache/i.test(a.message))).toEqual([])

    const verdict = (r: ActionRun, rep: Report): string =>
      `main ${(r.main.durationMs / 1000).toFixed(1)} s, build stage ${((rep.stages.build?.durationMs ?? 0) / 1000).toFixed(1)} s`
    console.log(
      `bakedKeyImage: without the cache ${verdict(first, firstReport)}; ` +
        `with it ${verdict(second, secondReport)} (restore ${secondReport.cache?.restoreMs} ms, ` +
        `${secondReport.cache?.bytesRestored} B); evaluations ${JSON.stringify(secondReport.cache?.evaluations)}; ` +
        `entry ${entryBytes} B for a ${expensiveInfo.narSize} B expensive path`
    )
  }, 600_000)

  it('a failed build saves what it built apart from the exact key; the next passing run restores it and saves the whole', async () => {
    const results = await startResultsService()
    services.push(results)
    const { flake, expensive, served, extraNixConf, actionEnv } = setUpBakedKeyImage()
    const run = async (fail: boolean): Promise<ActionRun> => {
      const result = await runAction({
        inputs: {
          ...LAB_INPUTS,
          flake,
          image: 'bakedKeyImage',
          boot: 'false',
          'extra-nix-conf': extraNixConf
        },
        // BOOT_IMAGE_VM_CACHE_FAIL: the ISO's own builder fails, after cacheExpensive is built.
        env: {
          ...LAB_ACTION_ENV,
          ...actionEnv,
          ...(fail ? { BOOT_IMAGE_VM_CACHE_FAIL: '1' } : {})
        },
        resultsService: results
      })
      runs.push(result)
      return result
    }
    const entryKeys = (): string[] =>
      results.caches.map(entry => entry.key).filter(key => key.startsWith('boot-image-vm-v2-'))

    const failed = await run(true)
    const failedReport = report(failed)
    expect(failed.outputs.result, jobLog(failed).slice(-3000)).toBe('build-failed')
    expect(failedReport.builds[0].failures.map(f => f.name)).toEqual(['boot-image-vm-baked.iso'])
    expect(existsSync(expensive)).toBe(true)
    const key = failedReport.cache?.key as string
    expect(failedReport.cache?.save?.status, failedReport.cache?.save?.detail).toBe('saved')
    expect(failedReport.cache?.save?.key).toBe(`${key}-incomplete`)
    expect(failedReport.cache?.save?.detail).toMatch(/the build failed/)
    // The exact key stays free.
    expect(entryKeys()).toEqual([`${key}-incomplete`])

    // A fresh runner, and the image fixed.
    deleteStorePaths([expensive, served])
    const passed = await run(false)
    const passedReport = report(passed)
    expect(passedReport.builds[0]?.status, jobLog(passed).slice(-3000)).toBe('passed')
    expect(passedReport.cache?.key).toBe(key)
    expect(passedReport.cache?.matchedKey).toBe(`${key}-incomplete`)
    expect(passedReport.cache?.status, passedReport.cache?.detail).toBe('partial')
    expect(
      builtDerivations(passed.outputs['report-dir']).map(drv => drv.replace(/^.*?-/, ''))
    ).toEqual(['boot-image-vm-baked.iso.drv'])
    // Not an exact hit: this run saves the whole entry under the exact key.
    expect(passedReport.cache?.save?.status, passedReport.cache?.save?.detail).toBe('saved')
    expect(passedReport.cache?.save?.key).toBe(key)
    expect(entryKeys().sort()).toEqual([key, `${key}-incomplete`])
  }, 600_000)
})
