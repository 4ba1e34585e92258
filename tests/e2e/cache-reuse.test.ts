// The image cache on an image that bakes the run's key (as the seed's and the reference flake's
// do), through the bundled action with the real @actions/cache against the fake results service:
// its .drv changes with every key, so the entry must hold only what does not depend on the key,
// and never what a substituter serves. Fixture bakedKeyImage: the ISO (bakes the key) depends on
// cacheExpensive (~20 s of sha256, independent of the key) and cacheServed (independent of the
// key, served by a file:// binary cache made here, a stand-in for cache.nixos.org).
// One chain of three runs on one fixture, so cacheExpensive is built once (it was twice, in two
// cases): a failed build saves apart from the exact key, the next run restores that and saves the
// whole entry (what it holds, what it leaves out), a third run (another key) restores it exactly.
// The cache needs no boot to be proven: boot: false ends each run after the build (the ISO goes up
// as its own artifact).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parsePathInfo } from '../../src/cache/keys.js'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { LAB_ACTION_ENV, jobLog, startResultsService, LAB_INPUTS } from '../helpers/e2e.js'
import { builtDerivations, nix, setUpBakedKeyImage, unpackEntry } from '../helpers/cache-reuse.js'
import { deleteStorePaths } from '../helpers/lab.js'

const runs: ActionRun[] = []
let results: FakeResultsService | undefined
afterAll(async () => {
  await results?.close()
  await Promise.all(runs.map(run => run.cleanup()))
})

function report(result: ActionRun): Report {
  return JSON.parse(readFileSync(join(result.outputs['report-dir'], 'report.json'), 'utf8'))
}

/** The derivations the run built, without their hashes. */
const built = (result: ActionRun): string[] =>
  builtDerivations(result.outputs['report-dir']).map(drv => drv.replace(/^.*?-/, ''))

describe('the image cache on an image that bakes the run key', () => {
  it('a failed build saves what it built apart from the exact key; the next run restores it, builds only what depends on the key and saves the whole, never what the substituter serves; a run with another key restores that entry', async () => {
    const service = await startResultsService()
    results = service
    const { flake, nonce, env, expensive, served, extraNixConf, actionEnv } = setUpBakedKeyImage()
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
        resultsService: service
      })
      runs.push(result)
      return result
    }
    const entryKeys = (): string[] =>
      service.caches.map(entry => entry.key).filter(key => key.startsWith('boot-image-vm-v2-'))

    // 1. A miss; the build fails in the ISO's own builder, after cacheExpensive.
    const failed = await run(true)
    const failedReport = report(failed)
    expect(failed.outputs.result, jobLog(failed).slice(-3000)).toBe('build-failed')
    expect(failedReport.builds[0].failures.map(f => f.name)).toEqual(['boot-image-vm-baked.iso'])
    expect(failedReport.cache?.status).toBe('miss')
    expect(built(failed)).toContain('boot-image-vm-expensive.drv')
    // Substituted, not built.
    expect(built(failed)).not.toContain('boot-image-vm-served.drv')
    expect(existsSync(expensive)).toBe(true)
    const key = failedReport.cache?.key as string
    expect(failedReport.cache?.save?.status, failedReport.cache?.save?.detail).toBe('saved')
    expect(failedReport.cache?.save?.key).toBe(`${key}-incomplete`)
    expect(failedReport.cache?.save?.detail).toMatch(/the build failed/)
    // The exact key stays free.
    expect(entryKeys()).toEqual([`${key}-incomplete`])

    // 2. A fresh runner, and the image fixed: restored from the incomplete entry.
    deleteStorePaths([expensive, served])
    expect(existsSync(expensive) || existsSync(served)).toBe(false)
    const passed = await run(false)
    const passedReport = report(passed)
    expect(passedReport.builds[0]?.status, jobLog(passed).slice(-3000)).toBe('passed')
    expect(passedReport.cache?.key).toBe(key)
    expect(passedReport.cache?.matchedKey).toBe(`${key}-incomplete`)
    expect(passedReport.cache?.status, passedReport.cache?.detail).toBe('partial')
    expect(built(passed)).toEqual(['boot-image-vm-baked.iso.drv'])
    // Not an exact hit: this run saves the whole entry under the exact key.
    const save = passedReport.cache?.save
    expect(save?.status, save?.detail).toBe('saved')
    expect(save?.key).toBe(key)
    expect(save?.detail).toMatch(/does not depend on the run's key/)
    expect(save?.detail).toMatch(/left out 1 paths the substituters serve/)
    expect(entryKeys().sort()).toEqual([key, `${key}-incomplete`])

    // What that entry holds: the expensive path, never the ISO (it bakes the key), never the
    // served path.
    const entry = unpackEntry(
      service.caches.find(e => e.key === key)!.data,
      join(flake, '..', `${nonce}-entry`)
    )
    expect(entry.stored).toContain(expensive)
    expect(entry.narinfoPaths.sort()).toEqual([...entry.stored].sort())
    expect(entry.stored.filter(path => path.endsWith('.iso'))).toEqual([])
    expect(entry.stored).not.toContain(served)
    // The rest is at most the devshell's environment (tiny); the size is the expensive path's.
    expect(entry.stored.filter(path => path !== expensive && !path.endsWith('-env'))).toEqual([])
    const [expensiveInfo] = parsePathInfo(nix(['path-info', '--json', expensive], env))
    const entryBytes = save?.bytes ?? 0
    expect(entryBytes).toBeGreaterThan(expensiveInfo.narSize * 0.95)
    expect(entryBytes).toBeLessThan(expensiveInfo.narSize * 1.1)

    // 3. A fresh runner again: none of it is in the store.
    deleteStorePaths([passedReport.builds[0].outPath as string, expensive, served])
    expect(existsSync(expensive) || existsSync(served)).toBe(false)
    const again = await run(false)
    const againReport = report(again)
    expect(againReport.builds[0]?.status, jobLog(again).slice(-3000)).toBe('passed')
    // Another key, another image .drv; the same derivations beside it: the same entry, exactly.
    expect(againReport.builds[0].drvPath).not.toBe(passedReport.builds[0].drvPath)
    expect(againReport.cache?.key).toBe(key)
    expect(againReport.cache?.matchedKey).toBe(key)
    expect(againReport.cache?.status).toBe('partial')
    // The expensive path only: the entry's devshell `-env` wrapper is not in what this run
    // computed it uses (the devshell's build closure), so `nix develop` rebuilds it (tiny).
    expect(againReport.cache?.detail).toMatch(
      /restored 1 store paths \(4\.\d MiB\) that do not depend on the run's key; still built: the 1 derivation\(s\) that depend on the run's key \(boot-image-vm-baked\.iso\)/
    )
    // Only the key-dependent derivation was built; the expensive one was restored, the served
    // one came from the substituter again.
    expect(built(again)).toEqual(['boot-image-vm-baked.iso.drv'])
    expect(existsSync(expensive) && existsSync(served)).toBe(true)
    expect(againReport.cache?.save?.status).toBe('skipped')
    expect(entryKeys().sort()).toEqual([key, `${key}-incomplete`])
    expect(again.summary).toMatch(/still built: the 1 derivation\(s\) that depend on the run's key/)
    expect(again.annotations.filter(a => /cache/i.test(a.message))).toEqual([])

    const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(1)
    console.log(
      `bakedKeyImage: build stage ${seconds(failedReport.stages.build?.durationMs)} s building ` +
        `cacheExpensive (failed), ${seconds(againReport.stages.build?.durationMs)} s with the ` +
        `entry (restore ${againReport.cache?.restoreMs} ms, ${againReport.cache?.bytesRestored} B); ` +
        `evaluations ${JSON.stringify(againReport.cache?.evaluations)}; entry ${entryBytes} B for ` +
        `a ${expensiveInfo.narSize} B expensive path`
    )
  }, 900_000)
})
