// The ISO inside a build's output (<out>/iso/*.iso), or an error that says what the output holds
// instead: an image attribute that is not an ISO fails here, with the listing to show why.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** The ISO in <out>/iso, or an error naming what the output holds instead. */
export async function findIso(outPath: string): Promise<{ isoPath?: string; error?: string }> {
  const isoDir = join(outPath, 'iso')
  const entries = await readdir(isoDir).catch(() => undefined)
  const isos = (entries ?? []).filter(name => name.endsWith('.iso'))
  if (isos.length === 1) return { isoPath: join(isoDir, isos[0]) }
  if (isos.length > 1) {
    return { error: `several ISOs in ${isoDir}: ${isos.join(', ')}; expected exactly one` }
  }
  const found = await listing(outPath)
  return {
    error: `no ISO in the build output: expected ${isoDir}/*.iso, but ${outPath} holds ${found}`
  }
}

async function listing(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return 'nothing (it does not exist)'
  if (!info.isDirectory()) return 'a single file, not a directory'
  const names: string[] = []
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isDirectory()) names.push(entry.name)
    else {
      const inner = await readdir(join(path, entry.name)).catch(() => [])
      names.push(
        ...(inner.length ? inner.map(name => `${entry.name}/${name}`) : [`${entry.name}/`])
      )
    }
  }
  const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '')
  return names.length ? shown : 'nothing (an empty directory)'
}
