// The action's TypeScript sources, for the tests that check rules over all of src/.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './action-runner.js'

export const SRC = join(REPO_ROOT, 'src')

/** Every .ts file under dir (src/ by default), as absolute paths. */
export function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : []
  )
}
