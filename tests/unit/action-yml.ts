// A tiny reader for action.yml's inputs and outputs: two-space keys under `inputs:`/`outputs:`,
// four-space `description`/`required`/`default` scalars (plain, 'single' or "double" quoted).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ActionEntry {
  name: string
  description: string
  required?: string
  default?: string
}

function scalar(raw: string): string {
  const text = raw.trim()
  if (text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1).replace(/''/g, "'")
  if (text.startsWith('"') && text.endsWith('"')) return JSON.parse(text) as string
  return text
}

export function readActionYml(path = `${ROOT}action.yml`): {
  inputs: ActionEntry[]
  outputs: ActionEntry[]
} {
  const sections: Record<string, ActionEntry[]> = { inputs: [], outputs: [] }
  let section: ActionEntry[] | undefined
  let entry: ActionEntry | undefined
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue
    const top = /^([A-Za-z-]+):\s*$/.exec(line)
    if (top || /^\S/.test(line)) {
      section = top ? sections[top[1]] : undefined
      entry = undefined
      continue
    }
    if (!section) continue
    const key = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line)
    if (key) {
      entry = { name: key[1], description: '' }
      section.push(entry)
      continue
    }
    const field = /^ {4}(description|required|default):\s*(.*)$/.exec(line)
    if (field && entry) entry[field[1] as 'description' | 'required' | 'default'] = scalar(field[2])
  }
  return { inputs: sections.inputs, outputs: sections.outputs }
}
