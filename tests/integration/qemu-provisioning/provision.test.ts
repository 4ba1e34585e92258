// QEMU's provisioning with real processes: PATH, the nix source through a fixture flake whose
// nixpkgs is the local stand-in (tests/fixtures/nixpkgs-standin), and apt where it can run here.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import type { NixInstallation, QemuAttempt, QemuProvision } from '../../../src/model/index.js'
import { capabilitiesFor } from '../../../src/setup/capabilities.js'
import { fromApt } from '../../../src/qemu-provisioning/apt.js'
import {
  provisionQemu,
  qemuFromPath,
  type QemuRequest
} from '../../../src/qemu-provisioning/index.js'
import { Secrets } from '../../../src/shared/secrets.js'
import { labNixEnv, makeFixtureFlake } from '../../helpers/lab.js'
import { makeStandinFlake } from '../../helpers/nixpkgs-standin.js'

const root = mkdtempSync(join(tmpdir(), 'qemu-provision-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A PATH with every tool of /usr/bin but QEMU (/bin is /usr/bin here: it cannot be on it). */
function pathWithoutQemu(): string {
  const bin = join(root, 'bin-without-qemu')
  if (!existsSync(bin)) {
    mkdirSync(bin)
    const list = spawnSync('ls', ['/usr/bin'], { encoding: 'utf8' }).stdout.split('\n')
    for (const name of list.filter(n => n && !n.startsWith('qemu-system'))) {
      symlinkSync(join('/usr/bin', name), join(bin, name))
    }
  }
  return `${bin}:/usr/sbin`
}

function harness(env: NodeJS.ProcessEnv = labNixEnv()): { ctx: StageContext; lines: string[] } {
  const lines: string[] = []
  const ctx: StageContext = {
    log: consoleLog(line => lines.push(line)),
    secrets: new Secrets(),
    reportDir: join(root, 'report'),
    tempDir: join(root, 'tmp'),
    env,
    signal: new AbortController().signal
  }
  return { ctx, lines }
}

const nix: NixInstallation = {
  nixPath: spawnSync('sh', ['-c', 'command -v nix'], { encoding: 'utf8' }).stdout.trim(),
  version: '2.8.0',
  variant: 'nix',
  capabilities: capabilitiesFor('2.8.0', 'nix'),
  env: {},
  storeMode: 'in-process'
}

const request = (over: Partial<QemuRequest>): QemuRequest => ({
  mode: 'auto',
  arch: 'x86_64',
  firmware: 'bios',
  flake: '.',
  nix: () => Promise.resolve(nix),
  startedAt: Date.now(),
  ...over
})

const signals = () => ({ stop: new AbortController().signal, cancel: new AbortController().signal })

async function provision(req: QemuRequest, ctx: StageContext): Promise<QemuProvision> {
  const early = await qemuFromPath(req, ctx)
  return 'status' in early ? early : provisionQemu(req, ctx, signals(), [early as QemuAttempt])
}

describe('the path source', () => {
  it('takes qemu-system-x86_64 from PATH and names its version', async () => {
    const { ctx } = harness()
    const result = await provision(request({ mode: 'path', firmware: 'uefi' }), ctx)
    expect(result.status).toBe('ready')
    expect(result.source).toBe('path')
    expect(result.binary).toMatch(/\/qemu-system-x86_64$/)
    expect(result.version).toMatch(/^\d+\.\d+/)
    expect(result.ovmf?.code).toMatch(/OVMF_CODE/)
    expect(result.attempts.map(a => [a.source, a.outcome])).toEqual([
      ['path', 'used'],
      ['nix', 'skipped'],
      ['apt', 'skipped']
    ])
  })

  it('fails at once under qemu: path when PATH has no QEMU, naming the three ways', async () => {
    const { ctx } = harness({ ...labNixEnv(), PATH: pathWithoutQemu() })
    const result = await provision(request({ mode: 'path' }), ctx)
    expect(result.status).toBe('failed')
    expect(result.attempts[0]).toMatchObject({ source: 'path', outcome: 'failed' })
    expect(result.error).toMatch(/^No source could provide QEMU \(input 'qemu' is 'path'\)/)
    for (const way of [
      '- path: qemu-system-x86_64 is not on PATH',
      '- nix: not tried',
      '- apt: not tried'
    ]) {
      expect(result.error).toContain(way)
    }
  })
})

describe('the nix source', () => {
  let flake: string
  beforeAll(() => {
    flake = makeStandinFlake().flake
  })

  it('builds QEMU and OVMF from the flake’s own nixpkgs input (the stand-in), through --inputs-from', async () => {
    const { ctx, lines } = harness()
    const result = await provisionQemu(
      request({ mode: 'nix', firmware: 'uefi', flake }),
      ctx,
      signals(),
      []
    )
    expect(result.error).toBeUndefined()
    expect(result.status).toBe('ready')
    expect(result.source).toBe('nix')
    expect(result.binary).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-qemu-standin\/bin\/qemu-system-x86_64$/
    )
    expect(result.ovmf?.code).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-OVMF-standin-fd\/FV\/OVMF_CODE\.fd$/
    )
    expect(result.ovmf?.vars).toMatch(/-OVMF-standin-fd\/FV\/OVMF_VARS\.fd$/)
    // The wrapper runs the host's QEMU: its version is the host's.
    expect(result.version).toMatch(/^\d+\.\d+/)
    expect(lines.join('\n')).toContain(`--inputs-from ${flake} nixpkgs#qemu_kvm nixpkgs#OVMF.fd`)
  })

  it('passes over a flake with no nixpkgs input (never the registry’s unpinned one), then apt under auto', async () => {
    const plain = makeFixtureFlake()
    const { ctx } = harness({ ...labNixEnv(), PATH: pathWithoutQemu() })
    const osRelease = join(root, 'os-release-fedora')
    writeFileSync(osRelease, 'ID=fedora\nPRETTY_NAME="Fedora Linux 40"\n')
    const result = await provision(
      request({
        flake: plain,
        apt: { osReleaseFiles: [osRelease], qemuPath: '/usr/bin/qemu-system-x86_64', asRoot: true }
      }),
      ctx
    )
    expect(result.status).toBe('failed')
    expect(result.attempts.map(a => [a.source, a.outcome])).toEqual([
      ['path', 'failed'],
      ['nix', 'failed'],
      ['apt', 'failed']
    ])
    expect(result.attempts[1].reason).toBe(`the flake ${plain} has no nixpkgs input`)
    expect(result.attempts[2].reason).toBe('Fedora Linux 40 (ID=fedora) is not Debian or Ubuntu')
  })

  it('is stopped, leaving no nix behind, when the stop signal fires', async () => {
    const broken = makeStandinFlake({ brokenQemu: true }).flake
    const { ctx } = harness()
    const stop = new AbortController()
    const pending = provisionQemu(request({ mode: 'nix', flake: broken }), ctx, {
      stop: stop.signal,
      cancel: new AbortController().signal
    })
    setTimeout(() => stop.abort(), 1_000)
    const result = await pending
    expect(result.status).toBe('stopped')
    const left = spawnSync('pgrep', ['-af', `inputs-from ${broken}`], { encoding: 'utf8' }).stdout
    expect(left.trim()).toBe('')
  })
})

describe('the apt source', () => {
  const installed = (pkg: string): boolean =>
    /Status: install ok installed/.test(
      spawnSync('dpkg', ['-s', pkg], { encoding: 'utf8' }).stdout ?? ''
    )

  // Real apt-get only where it changes nothing: as root, with qemu-system-x86 already installed
  // (apt says it is the newest version). Installing it for real is proven in H1's runner image.
  it.runIf(process.getuid?.() === 0 && installed('qemu-system-x86') && installed('ovmf'))(
    'runs apt-get install as root and takes Debian’s QEMU and OVMF',
    async () => {
      const { ctx, lines } = harness()
      const stop = new AbortController().signal
      const result = await fromApt({ arch: 'x86_64', firmware: 'uefi' }, ctx, {
        stop,
        cancel: stop
      })
      expect(result).toMatchObject({ binary: '/usr/bin/qemu-system-x86_64' })
      expect('ovmf' in result && result.ovmf?.code).toMatch(/^\/usr\/share\/OVMF\//)
      expect(lines.join('\n')).toMatch(
        /apt-get .*install --no-install-recommends qemu-system-x86 ovmf/
      )
    }
  )

  it('passes over a machine that is not root and has no sudo', async () => {
    const { ctx } = harness({ PATH: join(root, 'empty') })
    const stop = new AbortController().signal
    const result = await fromApt(
      { arch: 'x86_64', firmware: 'bios' },
      ctx,
      { stop, cancel: stop },
      {
        osReleaseFiles: ['/etc/os-release'],
        qemuPath: '/usr/bin/qemu-system-x86_64',
        asRoot: false
      }
    )
    expect(result).toEqual({ reason: 'this user is not root and there is no sudo on PATH' })
  })
})
