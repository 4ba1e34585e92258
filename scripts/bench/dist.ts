// Part of `npm run bench` (scripts/bench.ts, the runner): the bundled action, copied once at the
// start so a rebuild during the run cannot change what is measured.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { type ActionScripts } from '../../tests/helpers/action-runner.js'
import { LAB_DIR, REPO_ROOT } from '../../tests/helpers/lab.js'

/**
 * A copy of dist/ taken now: other work may rebundle (which empties dist/) while the boots run.
 * It lives in .lab/ so that node_modules resolve as they do from dist/.
 */
export function snapshotDist(): { scripts: ActionScripts; hash: string; dir: string } {
  const dist = join(REPO_ROOT, 'dist')
  for (const file of ['index.js', 'post.js']) {
    if (!existsSync(join(dist, file)))
      throw new Error(`dist/${file} is missing: run \`npm run bundle\` first`)
  }
  const dir = join(LAB_DIR, 'bench', `dist-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  cpSync(dist, dir, { recursive: true })
  const hash = createHash('sha256')
    .update(readFileSync(join(dir, 'index.js')))
    .digest('hex')
  return {
    scripts: { main: join(dir, 'index.js'), post: join(dir, 'post.js') },
    hash: hash.slice(0, 12),
    dir
  }
}
