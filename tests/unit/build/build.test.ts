import { describe, expect, it } from 'vitest'
import type { NixInstallation } from '../../../src/model/index.js'
import {
  buildArguments,
  nixCommand,
  parseOutPath,
  type BuildRequest
} from '../../../src/build/stage.js'
import { nixError } from '../../../src/shared/nix-error.js'
import { capabilitiesFor } from '../../../src/setup/capabilities.js'

const nix = (version: string): NixInstallation => ({
  nixPath: '/usr/bin/nix',
  version,
  variant: 'nix',
  capabilities: capabilitiesFor(version, 'nix'),
  env: {},
  storeMode: 'in-process'
})
const request: BuildRequest = {
  flake: '/src/os',
  image: 'bootImage',
  context: 'host',
  env: {},
  dir: '/report/build'
}

describe('buildArguments', () => {
  it('2.8: --json, since --print-out-paths does not exist yet', () => {
    expect(buildArguments(nix('2.8.0'), request)).toEqual([
      'build',
      '/src/os#bootImage',
      '--impure',
      '--no-link',
      '-L',
      '--keep-going',
      '--log-format',
      'internal-json',
      '--json'
    ])
  })

  it('2.26: --print-out-paths; a system when asked', () => {
    const args = buildArguments(nix('2.26.3'), { ...request, system: 'x86_64-linux' })
    expect(args.slice(-3)).toEqual(['--print-out-paths', '--system', 'x86_64-linux'])
  })
})

describe('nixCommand', () => {
  it('runs nix itself on the host', () => {
    expect(nixCommand(nix('2.8.0'), request, ['eval'])).toEqual({
      command: '/usr/bin/nix',
      args: ['eval']
    })
  })

  it('runs the same nix inside nix develop for the devshell context', () => {
    const shell = { ...request, context: 'devshell' as const, devshell: 'bootImageTest' }
    expect(nixCommand(nix('2.8.0'), shell, ['build', 'x'])).toEqual({
      command: '/usr/bin/nix',
      args: ['develop', '/src/os#bootImageTest', '-c', '/usr/bin/nix', 'build', 'x']
    })
  })

  it('refuses a devshell context without a devshell', () => {
    expect(() => nixCommand(nix('2.8.0'), { ...request, context: 'devshell' }, [])).toThrow(
      /devshell/
    )
  })
})

describe('parseOutPath', () => {
  it('reads --print-out-paths', () => {
    expect(parseOutPath('/nix/store/abc-image.iso\n', true)).toBe('/nix/store/abc-image.iso')
  })
  it('reads --json (2.8)', () => {
    const json = '[{"drvPath":"/nix/store/x.drv","outputs":{"out":"/nix/store/abc-image.iso"}}]'
    expect(parseOutPath(json, false)).toBe('/nix/store/abc-image.iso')
    expect(parseOutPath('not json', false)).toBeUndefined()
  })
})

describe('nixError', () => {
  it('drops warnings and colour before the first error', () => {
    const stderr =
      "warning: Git tree '/x' is dirty\n\u001b[31;1merror:\u001b[0m boom\n       at x\n"
    expect(nixError(stderr)).toBe('error: boom\n       at x')
  })
})
