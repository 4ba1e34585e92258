// The cache restore and every build context, report.json after each; then what the post step
// needs to save the cache.
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { Inputs } from '../inputs/index.js'
import { createEphemeralKey, type EphemeralKey } from '../shared/key.js'
import type { BuildContext, BuildResult, NixInstallation } from '../model/index.js'
import { judgeBuilds } from '../build/index.js'
import { cacheReport, cacheSaveRefusal, cacheSaveState, type CacheRestore } from '../cache/index.js'
import type { PipelineRun } from './pipeline-run.js'

/** Contexts to build in, in order; the first one's ISO is the one booted. */
export function buildContexts(inputs: Inputs): BuildContext[] {
  return inputs.buildIn === 'both' ? ['host', 'devshell'] : [inputs.buildIn]
}

/** `ctx` is the run's context with the build's own stop signal. */
export async function runBuilds(
  run: PipelineRun,
  nix: NixInstallation,
  keyEnv: Record<string, string>,
  ctx: StageContext
): Promise<BuildResult[]> {
  const { inputs, record } = run
  const cancelled = (): boolean => ctx.signal.aborted
  const contexts = buildContexts(inputs)
  const restore = await restoreCache(run, nix, keyEnv, ctx)
  record.cacheRestored(cacheReport(restore))
  const builds: BuildResult[] = []
  const started = Date.now()
  for (const [index, context] of contexts.entries()) {
    if (cancelled()) break
    const dir = context === 'devshell' && contexts.length > 1 ? 'build/devshell' : 'build'
    // The same key would make the same .drv, and Nix would only reuse the first context's output:
    // a later context gets a key of its own (as a harness makes a fresh one), so it really builds.
    const buildEnv =
      index === 0 ? keyEnv : { [inputs.rootKeyEnv]: contextKey(run.key, context, ctx) }
    const build = await ctx.log.group(`Build ${inputs.image} (${context})`, () =>
      run.stages.buildImage(
        nix,
        {
          flake: inputs.flake,
          image: inputs.image,
          context,
          devshell: inputs.devshell || undefined,
          env: buildEnv,
          dir: join(ctx.reportDir, dir),
          drvPath: index === 0 && context === 'host' ? restore.drvPath : undefined
        },
        ctx
      )
    )
    builds.push(build)
    record.built(builds)
    record.save()
  }
  const judged = judgeBuilds(builds, cancelled())
  record.judged(
    'build',
    { ...judged, detail: `${judged.detail}; cache: ${restore.status}` },
    Date.now() - started
  )
  record.save()
  // Saved by the post step even when a later stage fails: what was built is worth keeping.
  if (restore.key && !cancelled()) await describeCacheSave(run, nix, keyEnv, restore, builds, ctx)
  return builds
}

function restoreCache(
  { inputs, stages }: PipelineRun,
  nix: NixInstallation,
  keyEnv: Record<string, string>,
  ctx: StageContext
): Promise<CacheRestore> {
  if (!inputs.cache) {
    return Promise.resolve({ status: 'disabled', hit: false, detail: "input 'cache' is false" })
  }
  return ctx.log.group('Restore the image cache', () =>
    stages.restoreImageCache(
      nix,
      {
        flake: inputs.flake,
        image: inputs.image,
        keyEnv,
        devshell: inputs.devshell || undefined,
        buildDir: join(ctx.reportDir, 'build'),
        timeoutSeconds: inputs.cacheTimeoutSeconds
      },
      ctx
    )
  )
}

/** What the post step saves: the built outputs and the devshell's environment when one was used. */
async function describeCacheSave(
  run: PipelineRun,
  nix: NixInstallation,
  keyEnv: Record<string, string>,
  restore: CacheRestore,
  builds: BuildResult[],
  ctx: StageContext
): Promise<void> {
  const { inputs } = run
  const devshellUsed = Boolean(inputs.devshell) || buildContexts(inputs).includes('devshell')
  const envPath =
    devshellUsed && inputs.devshell
      ? await run.stages.devshellEnvPath(
          nix,
          `${inputs.flake}#${inputs.devshell}`,
          keyEnv,
          ctx.tempDir,
          ctx.signal
        )
      : undefined
  const state = cacheSaveState(restore, nix, {
    roots: [...builds.flatMap(b => (b.outPath ? [b.outPath] : [])), ...(envPath ? [envPath] : [])],
    drvPaths: builds.flatMap(b => (b.drvPath ? [b.drvPath] : [])),
    incomplete: builds.some(build => build.status !== 'passed'),
    maxSizeMiB: inputs.cacheMaxSizeMiB,
    timeoutSeconds: inputs.cacheTimeoutSeconds,
    refusal: cacheSaveRefusal(inputs.cacheSave, ctx.env.GITHUB_EVENT_NAME)
  })
  if (state) run.hooks.onCacheSave?.(state)
}

/** A fresh key for one more build context, inside the run's key dir (post deletes it). */
function contextKey(key: EphemeralKey, context: BuildContext, ctx: StageContext): string {
  const extra = createEphemeralKey(join(key.dir, context))
  ctx.secrets.add(extra.privateKey)
  ctx.log.info(
    `${context} build: its own ephemeral key, so Nix builds it instead of reusing the store`
  )
  return extra.publicKeyPath
}
