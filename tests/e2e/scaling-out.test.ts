// Issue 17, through the bundled action: an ISO built elsewhere (input `iso`) is booted without Nix.
// The ISO comes from the fixture flake built by this test process's Nix; the action's own PATH has
// no nix (a directory of links to every host tool except nix and nix-*, as tests/e2e/nix-env.test.ts
// builds it), so nothing of the run can have used Nix by name.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import {
  BUSYBOX_PROBES,
  LAB_ACTION_ENV,
  artifactOf,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import { toolsWithoutNix } from '../helpers/processes.js'
import { fixtureIso, makeFixtureFlake, makeKeyPair } from '../helpers/lab.js'

let service: FakeResultsService
let flake: string
let pathWithoutNix: string
/** Where the ISO artifact is unpacked, as actions/download-artifact would. */
const downloads = mkdtempSync(join(tmpdir(), 'downloaded-iso-'))
const runs: ActionRun[] = []

beforeAll(async () => {
  service = await startResultsService()
  flake = makeFixtureFlake()
  pathWithoutNix = toolsWithoutNix()
})
afterAll(async () => {
  await service.close()
  await Promise.all(runs.map(run => run.cleanup()))
  rmSync(join(pathWithoutNix, '..'), { recursive: true, force: true })
  rmSync(downloads, { recursive: true, force: true })
})

/** A run of the bundled action; without Nix on its PATH unless `withNix` (a build needs it). */
async function run(inputs: Record<string, string>, withNix = false): Promise<ActionRun> {
  const path: Record<string, string> = withNix ? {} : { PATH: pathWithoutNix }
  const result = await runAction({
    inputs: {
      ...LAB_BOOT_INPUTS,
      flake,
      probes: BUSYBOX_PROBES,
      ...inputs
    },
    env: { ...LAB_ACTION_ENV, ...path, GITHUB_JOB: `scaling-out-${runs.length}` },
    resultsService: service
  })
  runs.push(result)
  return result
}

interface StageRow {
  status: string
  detail?: string
}

describe("input 'iso': boot an ISO built elsewhere", () => {
  it('boots, probes and reports with no Nix on PATH; setup, build, env diff and cache are skipped', async () => {
    // bootKeyImage takes root's key at boot: the run's ephemeral key gets in without ssh-key.
    const { iso } = await fixtureIso('bootKeyImage')
    expect(existsSync(join(pathWithoutNix, 'nix'))).toBe(false)
    const result = await run({ iso })
    expect(result.outputs.result).toBe('passed')
    expect(result.main.exitCode).toBe(0)
    const files = await artifactOf(service, result)
    const report = JSON.parse(files['report.json']) as {
      stages: Record<string, StageRow>
      setup?: unknown
      builds: unknown[]
      cache: { status: string; detail: string }
    }
    for (const stage of ['setup', 'build', 'env-diff']) {
      expect(report.stages[stage], stage).toEqual(
        expect.objectContaining({ status: 'skipped', detail: "input 'iso' given" })
      )
    }
    expect(report.stages.boot.status).toBe('passed')
    expect(report.setup).toBeUndefined()
    expect(report.builds).toEqual([])
    expect(report.cache).toEqual({ status: 'disabled', detail: "input 'iso' given" })
    expect(files['probes/kernel.txt']).toContain('Linux')
    expect(files['vm/serial.log']).toContain('root key from the credential')
    expect(files['summary.md']).toContain("input 'iso' given")
    expect(result.leftovers).toEqual([])
    expect(result.post.exitCode).toBe(0)
  })

  it("passes over QEMU's nix source with the reason (no Nix is set up for a given ISO)", async () => {
    const { iso } = await fixtureIso('bootKeyImage')
    const result = await run({ iso, qemu: 'nix' })
    expect(result.outputs.result).toBe('setup-failed')
    const report = JSON.parse((await artifactOf(service, result))['report.json']) as {
      stages: Record<string, StageRow>
    }
    expect(report.stages.qemu.status).toBe('failed')
    expect(report.stages.qemu.detail).toContain("input 'iso' given")
  })

  it('refuses a file that is not an ISO as an input error naming iso', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'not-an-iso-'))
    const zip = join(dir, 'boot-image.zip')
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64 * 1024)]))
    const result = await run({ iso: zip })
    rmSync(dir, { recursive: true, force: true })
    expect(result.outputs.result).toBe('setup-failed')
    expect(result.main.exitCode).not.toBe(0)
    expect(
      result.annotations.some(
        a =>
          a.level === 'error' &&
          /^Input 'iso': .*boot-image\.zip' is not an ISO 9660 image/.test(a.message)
      )
    ).toBe(true)
    expect(result.leftovers).toEqual([])
  })
})

/** No file of the artifact holds the private key, whole or any line of it. */
function expectKeyAbsent(files: Record<string, string>, privateKeyPath: string): void {
  const privateKey = readFileSync(privateKeyPath, 'utf8')
  const body = privateKey
    .split('\n')
    .filter((line: string) => line.length >= 16 && !line.startsWith('-----'))
  expect(body.length).toBeGreaterThan(0)
  for (const [name, text] of Object.entries(files)) {
    expect(text, name).not.toContain('PRIVATE KEY')
    for (const line of body)
      expect(text.includes(line), `${name} holds the private key`).toBe(false)
  }
}

describe("input 'ssh-key': the user's key in the ephemeral key's place", () => {
  const user = makeKeyPair()
  let builtIso = ''

  it('boot: false builds with its public half and uploads the ISO as its own artifact; the key stays out', async () => {
    // bootImage bakes the key from PRE_NIXOS_ROOT_KEY into the ISO.
    const result = await run(
      { image: 'bootImage', boot: 'false', 'ssh-key': user.privateKeyPath },
      true
    )
    expect(result.outputs.result).toBe('passed')
    expect(result.main.exitCode).toBe(0)
    expect(result.outputs['iso-artifact']).toBe('bootImage-iso')
    const privateKey = readFileSync(user.privateKeyPath, 'utf8')
    // Masked as the ephemeral key is: whole, and line by line.
    expect(result.masks).toContain(privateKey)
    for (const line of privateKey.split('\n').filter(l => l.trim().length >= 16))
      expect(result.masks).toContain(line.trim())

    const report = await artifactOf(service, result)
    const stages = (JSON.parse(report['report.json']) as { stages: Record<string, StageRow> })
      .stages
    expect(stages.build.status).toBe('passed')
    expect(stages.qemu).toEqual(expect.objectContaining({ status: 'skipped' }))
    expect(stages.boot.detail).toMatch(/^input 'boot' is false; the ISO: .*"bootImage-iso"/)
    expect(report['vm/serial.log']).toBeUndefined()
    expectKeyAbsent(report, user.privateKeyPath)

    // The ISO artifact: the ISO alone, byte for byte the one built; where download-artifact puts it.
    const artifact = service.artifacts.find(a => a.name === result.outputs['iso-artifact'])!
    const isoFiles = await artifact.files()
    const name = basename(result.outputs['iso-path'])
    expect(Object.keys(isoFiles)).toEqual([name])
    expect(isoFiles[name].equals(readFileSync(result.outputs['iso-path']))).toBe(true)
    expectKeyAbsent({ [name]: isoFiles[name].toString('latin1') }, user.privateKeyPath)
    builtIso = join(downloads, name)
    writeFileSync(builtIso, isoFiles[name])

    // Post deleted the run's key directory, not the user's file.
    expect(existsSync(result.state['key-dir'])).toBe(false)
    expect(readFileSync(user.privateKeyPath, 'utf8')).toBe(privateKey)
    expect(result.leftovers).toEqual([])
  })

  it('boots that ISO elsewhere with the same key and no Nix on PATH', async () => {
    expect(builtIso).not.toBe('')
    const result = await run({ iso: builtIso, 'ssh-key': user.privateKeyPath })
    expect(result.outputs.result).toBe('passed')
    const files = await artifactOf(service, result)
    expect(files['vm/serial.log']).toContain('boot-image-vm: ready')
    expectKeyAbsent(files, user.privateKeyPath)
    expect(existsSync(user.privateKeyPath)).toBe(true)
  })

  it('a key the image does not trust is boot-failed naming the key, at once', async () => {
    const other = makeKeyPair()
    const result = await run({ iso: builtIso, 'ssh-key': other.privateKeyPath })
    expect(result.outputs.result).toBe('boot-failed')
    const error = (
      JSON.parse((await artifactOf(service, result))['report.json']) as {
        vm: { boot: { error: string } }
      }
    ).vm.boot.error
    expect(error).toMatch(
      /^the guest refused the SSH key \(.*All configured authentication methods failed/
    )
    expect(error).toContain(
      `the key in input 'ssh-key' (${other.privateKeyPath}) is not one the image trusts`
    )
    // Ended on the refusal, not by the deadline (which would name boot-timeout).
    expect(error).not.toContain('boot-timeout')
  })

  it('iso without ssh-key on an image that bakes its key fails on the refusal, naming ssh-key', async () => {
    const result = await run({ iso: builtIso })
    expect(result.outputs.result).toBe('boot-failed')
    const error = (
      JSON.parse((await artifactOf(service, result))['report.json']) as {
        vm: { boot: { error: string } }
      }
    ).vm.boot.error
    expect(error).toMatch(/^the guest refused the SSH key/)
    expect(error).toContain(
      "the image probably bakes another key: give its private key as input 'ssh-key'"
    )
    expect(error).not.toContain('boot-timeout')
  })

  it('a file that is no private key is an input error naming ssh-key', async () => {
    const result = await run({ 'ssh-key': user.publicKeyPath })
    expect(result.outputs.result).toBe('setup-failed')
    expect(
      result.annotations.some(
        a =>
          a.level === 'error' &&
          /^Input 'ssh-key': .* holds a public key, not a private one/.test(a.message)
      )
    ).toBe(true)
  })
})
