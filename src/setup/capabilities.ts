// What the installed Nix can do, decided from `nix --version` alone. Pure: no I/O.
//
// Formats seen in the wild (first line only; Lix 2.92+ prints more lines after it):
//   nix (Nix) 2.8.0                          upstream Nix
//   nix (Nix) 2.23.0pre20240526_7de033d6     a pre-release: compared by its numbers
//   nix (Lix, like Nix) 2.91.1               Lix (a fork of Nix 2.18 with its own numbering)
//   nix (Determinate Nix 3.6.2) 2.29.0       Determinate Nix: the Nix version it is built on last
import type { NixCapabilities, NixVariant } from '../model/index.js'

export interface NixVersion {
  /** The Nix-compatible version (for Determinate Nix the upstream one it builds on). */
  version: string
  variant: NixVariant
}

const VERSION_LINE = /^(?:\S+\s+)?\((?<product>[^)]*)\)\s+(?<version>\d+(?:\.\d+){1,2}\S*)\s*$/

/** Parses `nix --version` output. Throws when the text does not look like any known Nix. */
export function parseNixVersion(text: string): NixVersion {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
  for (const line of lines) {
    const match = VERSION_LINE.exec(line)
    if (!match?.groups) continue
    const { product, version } = match.groups
    return { version, variant: variantOf(product) }
  }
  const shown = lines[0] ?? '(no output)'
  throw new Error(
    `Cannot read the Nix version from \`nix --version\` output '${shown.slice(0, 200)}': ` +
      `expected e.g. 'nix (Nix) 2.26.3', 'nix (Lix, like Nix) 2.91.1' or 'nix (Determinate Nix 3.6.2) 2.29.0'.`
  )
}

function variantOf(product: string): NixVariant {
  if (/^lix\b/i.test(product)) return 'lix'
  if (/determinate/i.test(product)) return 'determinate'
  return 'nix'
}

/** The numeric parts of a version: '2.23.0pre2024…' → [2, 23, 0]; '2.8' → [2, 8, 0]. */
function numbers(version: string): number[] {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim())
  if (!match) return [0, 0, 0]
  return [match[1], match[2], match[3]].map(part => (part === undefined ? 0 : Number(part)))
}

/** Compares two versions by their numbers: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const left = numbers(a)
  const right = numbers(b)
  for (let index = 0; index < 3; index++) {
    if (left[index] !== right[index]) return left[index] - right[index]
  }
  return 0
}

const atLeast = (version: string, minimum: string): boolean =>
  compareVersions(version, minimum) >= 0

/**
 * The commands and settings this Nix supports.
 *
 * Lix forked from Nix 2.18 and numbers its releases 2.90 and up, so its numbers say nothing
 * about upstream features. Every Lix release has `--print-out-paths` (2.12) and
 * `nix derivation show` (2.15); Lix renamed `nix show-config` to `nix config show` in its
 * first release (lix cl/993, 2.90, `show-config` kept as a deprecated alias); it has no
 * `json-log-path` (upstream 2.30). For `nix store info` (upstream 2.19, after the fork) we keep
 * the 2.18 name `nix store ping`, which every Lix release accepts.
 *
 * Determinate Nix reports the upstream version it is built on, which decides as for Nix.
 */
export function capabilitiesFor(version: string, variant: NixVariant): NixCapabilities {
  if (variant === 'lix') {
    return {
      printOutPaths: true,
      configShow: ['config', 'show'],
      derivationShow: ['derivation', 'show'],
      storeInfo: ['store', 'ping'],
      jsonLogPath: false
    }
  }
  return {
    printOutPaths: atLeast(version, '2.12'),
    configShow: atLeast(version, '2.20') ? ['config', 'show'] : ['show-config'],
    derivationShow: atLeast(version, '2.15') ? ['derivation', 'show'] : ['show-derivation'],
    storeInfo: atLeast(version, '2.19') ? ['store', 'info'] : ['store', 'ping'],
    jsonLogPath: atLeast(version, '2.30')
  }
}
