// Runs one @actions/cache or @actions/artifact call in its own Node process, as the action does,
// so a test can give it what only a process's start can take (NODE_EXTRA_CA_CERTS, a preload).
// argv: save <key> <path> | restore <key> <path> <segmentTimeoutMs> | upload <name> <root> <file>…
// The last stdout line is `RESULT <json>`.
import * as cache from '@actions/cache'
import { DefaultArtifactClient } from '@actions/artifact'

const [op, name, ...rest] = process.argv.slice(2)
let result
try {
  if (op === 'save') result = { id: await cache.saveCache([rest[0]], name) }
  else if (op === 'restore') {
    const options = { segmentTimeoutInMs: Number(rest[1]), timeoutInMs: Number(rest[1]) }
    result = { matchedKey: (await cache.restoreCache([rest[0]], name, [], options)) ?? null }
  } else if (op === 'upload') {
    const [root, ...files] = rest
    result = await new DefaultArtifactClient().uploadArtifact(name, files, root)
  } else throw new Error(`unknown operation ${op}`)
} catch (error) {
  result = { error: String(error?.message ?? error) }
}
process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`)
process.exit(0)
