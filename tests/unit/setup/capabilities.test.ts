import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { NixCapabilities, NixVariant } from '../../../src/model/index.js'
import {
  capabilitiesFor,
  compareVersions,
  parseNixVersion
} from '../../../src/setup/capabilities.js'

const DIR = fileURLToPath(new URL('../../fixtures/transcripts/versions/', import.meta.url))

const OLD: Omit<NixCapabilities, 'printOutPaths'> = {
  configShow: ['show-config'],
  derivationShow: ['show-derivation'],
  storeInfo: ['store', 'ping'],
  jsonLogPath: false
}
const LIX: NixCapabilities = {
  printOutPaths: true,
  configShow: ['config', 'show'],
  derivationShow: ['derivation', 'show'],
  storeInfo: ['store', 'ping'],
  jsonLogPath: false
}
const MODERN: NixCapabilities = {
  printOutPaths: true,
  configShow: ['config', 'show'],
  derivationShow: ['derivation', 'show'],
  storeInfo: ['store', 'info'],
  jsonLogPath: false
}

const EXPECTED: Record<string, [string, NixVariant, NixCapabilities]> = {
  'nix-2.8.0.txt': ['2.8.0', 'nix', { ...OLD, printOutPaths: false }],
  'nix-2.18.1.txt': [
    '2.18.1',
    'nix',
    { ...OLD, printOutPaths: true, derivationShow: ['derivation', 'show'] }
  ],
  'nix-2.23.0pre.txt': ['2.23.0pre20240526_7de033d6', 'nix', MODERN],
  'nix-2.26.3.txt': ['2.26.3', 'nix', MODERN],
  'nix-2.35.2.txt': ['2.35.2', 'nix', { ...MODERN, jsonLogPath: true }],
  'lix-2.90.0-beta.1.txt': ['2.90.0-beta.1', 'lix', LIX],
  'lix-2.91.1.txt': ['2.91.1', 'lix', LIX],
  'lix-2.92.0-dev.txt': ['2.92.0-dev-pre20250117-0d14c2b', 'lix', LIX],
  'determinate-3.0.0.txt': ['2.26.3', 'determinate', MODERN],
  'determinate-3.6.2.txt': ['2.29.0', 'determinate', MODERN]
}

describe('parseNixVersion and capabilitiesFor, on every recorded transcript', () => {
  const files = readdirSync(DIR).filter(file => file.endsWith('.txt'))

  it('has an expectation for every transcript', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort())
  })

  for (const [file, [version, variant, capabilities]] of Object.entries(EXPECTED)) {
    it(file, () => {
      const parsed = parseNixVersion(readFileSync(join(DIR, file), 'utf8'))
      expect(parsed).toEqual({ version, variant })
      expect(capabilitiesFor(parsed.version, parsed.variant)).toEqual(capabilities)
    })
  }
})

describe('parseNixVersion', () => {
  it('accepts CRLF, surrounding blank lines and other programs of the suite', () => {
    expect(parseNixVersion('\r\nnix-env (Nix) 2.18.1\r\n')).toEqual({
      version: '2.18.1',
      variant: 'nix'
    })
  })

  it('refuses text that is not a Nix version, quoting it', () => {
    expect(() => parseNixVersion('bash: nix: command not found')).toThrow(
      /Cannot read the Nix version .*'bash: nix: command not found'/
    )
    expect(() => parseNixVersion('')).toThrow(/\(no output\)/)
  })
})

describe('capabilitiesFor at the version boundaries', () => {
  it.each([
    ['2.11.1', 'printOutPaths', false],
    ['2.12.0', 'printOutPaths', true],
    ['2.29.9', 'jsonLogPath', false],
    ['2.30.0', 'jsonLogPath', true]
  ] as const)('%s: %s is %s', (version, key, value) => {
    expect(capabilitiesFor(version, 'nix')[key]).toBe(value)
  })

  it.each([
    ['2.14.1', 'derivationShow', ['show-derivation']],
    ['2.15.0', 'derivationShow', ['derivation', 'show']],
    ['2.18.9', 'storeInfo', ['store', 'ping']],
    ['2.19.0', 'storeInfo', ['store', 'info']],
    ['2.19.9', 'configShow', ['show-config']],
    ['2.20.0', 'configShow', ['config', 'show']]
  ] as const)('%s: %s is %j', (version, key, value) => {
    expect(capabilitiesFor(version, 'nix')[key]).toEqual(value)
  })
})

describe('compareVersions', () => {
  it.each([
    ['2.8.0', '2.12', -1],
    ['2.12', '2.12.0', 0],
    ['2.20.1', '2.3.16', 1],
    ['2.30.0pre20250101', '2.30', 0],
    ['3.0.0', '2.99.9', 1]
  ] as const)('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign)
  })
})
