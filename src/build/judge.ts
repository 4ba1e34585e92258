// The build stage's line in the stage table: each context built or how it failed, and the cache.
import type { BuildResult, StageJudgement } from '../model/index.js'

export function judgeBuilds(builds: BuildResult[], cancelled: boolean): StageJudgement {
  const failed = builds.filter(build => build.status !== 'passed')
  const describe = (build: BuildResult): string =>
    build.status === 'passed'
      ? `${build.context}: built`
      : `${build.context}: ${build.status}${
          build.failures.length ? ` (${build.failures.map(f => f.name).join(', ')})` : ''
        }`
  return {
    status: failed.length || cancelled ? 'failed' : 'passed',
    detail: [...builds.map(describe), ...(cancelled ? ['cancelled'] : [])].join('; ')
  }
}

/** A build stopped because no QEMU can come: what the killed build said is not the image's fault. */
export const STOPPED_FOR_QEMU = 'stopped: no source could provide QEMU (see the qemu stage)'
