// Pure: what the env capture reads from nix (`nix config show --json` settings as text, and
// nix's error without its warnings) for the diff's facts.
import { nixError } from '../shared/nix-error.js'

/** The settings worth comparing (the rest of `nix config show` rarely changes a build). */
export const CAPTURED_SETTINGS = [
  'store',
  'sandbox',
  'sandbox-build-dir',
  'build-dir',
  'build-users-group',
  'experimental-features',
  'substituters',
  'system-features'
]

// Nix 2.8–2.12 print experimental-features as enum numbers in --json; their order then.
const XP_FEATURES = [
  'ca-derivations',
  'impure-derivations',
  'flakes',
  'nix-command',
  'recursive-nix',
  'no-url-literals',
  'fetch-closure'
]

export function renderSetting(key: string, value: unknown): string {
  if (Array.isArray(value)) {
    const items = value.map(v =>
      key === 'experimental-features' && typeof v === 'number' ? (XP_FEATURES[v] ?? `#${v}`) : v
    )
    return items.map(String).join(' ')
  }
  if (value === null || value === undefined) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** The settings subset from `nix config show --json` ({name: {value, …}}). */
export function parseConfigJson(text: string): Record<string, string> {
  const config = JSON.parse(text) as Record<string, { value?: unknown }>
  const out: Record<string, string> = {}
  for (const key of CAPTURED_SETTINGS) {
    if (key in config) out[key] = renderSetting(key, config[key]?.value)
  }
  return out
}

const DIRTY_TREE = /^warning: Git tree '.*' is dirty$/

/** nixError as a short reason: no blank lines nor the dirty-tree warning, 20 lines, 2000 characters. */
export function nixReason(stderr: string, fallback: string): string {
  const lines = nixError(stderr)
    .split('\n')
    .filter(line => line.trim() && !DIRTY_TREE.test(line))
  return lines.slice(0, 20).join('\n').slice(0, 2000) || fallback
}
