// Issue 17, through the bundled action: Nix's own remote builders and signed binary caches, set
// through extra-nix-conf, and the report naming per derivation where it was built.
// The remote builder is real: another store on this machine (a runner image's /nix/store, with
// its own nix-daemon, build users and sandbox: bookworm's Nix 2.8 and trixie's Nix 2.26; this
// machine's Nix 2.8 is the client), reached over SSH as another user
// (an sshd this test starts on a loopback address of its own, whose forced command enters the
// image as `runner` and runs `nix-daemon --stdio`: tests/helpers/ssh-builder.ts). The fixture
// remoteBuiltImage is the busybox ISO (built here: it reads this machine's lab kernel) over
// remotePart, which requires a feature only the SSH builder has, and cacheServed, which a signed
// file:// binary cache serves (tests/helpers/cache-reuse.ts). boot: false: the build is the proof.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/index.js'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import { setUpBakedKeyImage, nix, type BakedKeySetup } from '../helpers/cache-reuse.js'
import {
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_INPUTS
} from '../helpers/e2e.js'
import type { FakeResultsService } from '../helpers/fake-results-service.js'
import { makeFixtureFlake } from '../helpers/lab.js'
import {
  enterRunnerImage,
  runnerImageReady,
  type RunnerImage,
  type RunnerSuite
} from '../helpers/runner-image.js'
import { SSHD, startSshBuilder, type SshBuilder } from '../helpers/ssh-builder.js'

const FEATURE = 'boot-image-vm-remote'
const SUITES: RunnerSuite[] = ['bookworm', 'trixie']

let service: FakeResultsService
const flake = makeFixtureFlake()
const runs: ActionRun[] = []
/** The signed caches' files, which cache-reuse.ts makes beside the flake copy. */
const nonces: string[] = []

beforeAll(async () => {
  service = await startResultsService()
})
afterAll(async () => {
  await service?.close()
  await Promise.all(runs.map(run => run.cleanup()))
  for (const nonce of nonces)
    for (const name of [`${nonce}-substituter`, `${nonce}-signing.sec`])
      rmSync(join(flake, '..', name), { recursive: true, force: true })
}, 120_000)

/** boot: false of remoteBuiltImage with these nix.conf lines. */
async function build(
  setup: BakedKeySetup,
  remoteNonce: string,
  builder: SshBuilder,
  extraNixConf: string[],
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await runAction({
    inputs: {
      ...LAB_INPUTS,
      flake,
      image: 'remoteBuiltImage',
      boot: 'false',
      cache: 'false',
      'extra-nix-conf': extraNixConf.join('\n')
    },
    env: {
      ...LAB_ACTION_ENV,
      ...setup.actionEnv,
      BOOT_IMAGE_VM_REMOTE_NONCE: remoteNonce,
      // As a user whose builder listens on another port would set it in the workflow's env.
      NIX_SSHOPTS: builder.sshOpts,
      GITHUB_JOB: `remote-builder-${runs.length}`,
      ...env
    },
    resultsService: service
  })
  runs.push(result)
  return result
}

/** The substituter URI and public key from the helper's extra-substituters lines. */
function cacheLines(setup: BakedKeySetup): { substituter: string; publicKey: string } {
  const value = (name: string): string =>
    new RegExp(`^${name} = (.*)$`, 'm').exec(setup.extraNixConf)?.[1] ?? ''
  return {
    substituter: value('extra-substituters'),
    publicKey: value('extra-trusted-public-keys')
  }
}

const byName = (report: Report, suffix: string) =>
  report.builds[0].builtOn?.find(entry => entry.drv.endsWith(suffix))

describe.each(SUITES)('a remote builder in the %s runner image, and a signed cache', suite => {
  const ready = runnerImageReady(suite) && existsSync(SSHD)
  // Fresh per suite: what one suite's builder built, the other's must build again.
  const remoteNonce = `${suite}-${process.pid}-${Date.now()}`
  let image: RunnerImage | undefined
  let builder: (SshBuilder & { log: string[] }) | undefined
  beforeAll(async () => {
    if (!ready) return
    const extraNixConf = `extra-system-features = ${FEATURE}`
    image = await enterRunnerImage(suite, { extraNixConf })
    builder = await startSshBuilder(image, [FEATURE])
  }, 300_000)
  afterAll(async () => {
    await builder?.close()
    await image?.close()
  }, 120_000)

  it.skipIf(!ready)(
    'builds remotePart on the SSH builder, substitutes cacheServed, and the report says so',
    async () => {
      const setup = setUpBakedKeyImage(flake)
      nonces.push(setup.nonce)
      const { substituter, publicKey } = cacheLines(setup)
      const result = await build(setup, remoteNonce, builder!, [
        `builders = ${builder!.machine}`,
        'builders-use-substitutes = true',
        `substituters = ${substituter}`,
        `trusted-public-keys = ${publicKey}`
      ])
      expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json']) as Report
      const remote = byName(report, '-boot-image-vm-remote-part.drv')
      expect(remote?.machine).toBe(builder!.uri)
      // The ISO reads this machine's lab kernel: built here, and said so.
      expect(byName(report, '-boot-image-vm-remote-built.iso.drv')?.machine).toBe('local')
      // Served by the signed cache: substituted from it, never built.
      expect(report.builds[0].substituted).toEqual([{ path: setup.served, from: substituter }])
      expect(byName(report, '-boot-image-vm-served.drv')).toBeUndefined()
      expect(report.builds[0].builtOn?.map(entry => entry.drv).sort()).toEqual(
        [...(report.builds[0].built ?? [])].sort()
      )
      // The summary names the builder beside the derivation, and the cache.
      expect(files['summary.md']).toContain(`| boot-image-vm-remote-part | \`${builder!.uri}\` |`)
      expect(files['summary.md']).toContain(`Substituted (not built): 1 from \`${substituter}\``)

      // Really the other store: the output is in the image's /nix/store, built by its build user
      // (the host has none: root builds in-process here), and the host got a copy back.
      const outputs = spawnSync('nix-store', ['--query', '--outputs', remote!.drv], {
        env: setup.env,
        encoding: 'utf8'
      })
      const remoteOut = outputs.stdout.trim()
      expect(remoteOut, outputs.stderr).toMatch(/^\/nix\/store\/\w{32}-boot-image-vm-remote-part$/)
      const inImage = readFileSync(image!.hostPath(remoteOut), 'utf8')
      // The image's build users (the leg's own uids; this machine has no nixbld users).
      const buildUids = [
        ...readFileSync(image!.hostPath('/etc/passwd'), 'utf8').matchAll(
          /^nixbld\d+:[^:]*:(\d+):/gm
        )
      ].map(match => match[1])
      const uid = /^built as uid (\d+) for nonce (.*)$/m.exec(inImage)
      expect(uid?.[2]).toBe(remoteNonce)
      expect(buildUids).toContain(uid?.[1])
      expect(readFileSync('/etc/passwd', 'utf8')).not.toMatch(
        new RegExp(`^[^:]*:[^:]*:${uid?.[1]}:`, 'm')
      )
      expect(readFileSync(remoteOut, 'utf8')).toBe(inImage)
      // Through the test's sshd, as the forced command (runner in the image's root).
      const sshd = builder!.log.join('')
      expect(sshd).toMatch(
        /Starting session: forced-command \(key-option\) 'exec chroot --userspec=1001:1001 /
      )
      expect(result.leftovers).toEqual([])
      console.log(
        `remote builder (${suite}): build stage ${((report.stages.build?.durationMs ?? 0) / 1000).toFixed(1)} s; ` +
          `built ${JSON.stringify(report.builds[0].builtOn)}`
      )
    },
    600_000
  )

  // Once: the cache's part does not depend on the builder.
  it.runIf(ready && suite === 'bookworm')(
    'a cache signed by another key is not trusted: Nix warns and builds the path itself',
    async () => {
      const setup = setUpBakedKeyImage(flake)
      nonces.push(setup.nonce)
      const { substituter } = cacheLines(setup)
      const otherSecret = nix(['key', 'generate-secret', '--key-name', 'not-the-signer'], setup.env)
      const wrongKey = nix(['key', 'convert-secret-to-public'], setup.env, otherSecret)
      const result = await build(setup, remoteNonce, builder!, [
        `builders = ${builder!.machine}`,
        `substituters = ${substituter}`,
        `trusted-public-keys = ${wrongKey}`
      ])
      expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json']) as Report
      expect(report.builds[0].substituted).toEqual([])
      expect(byName(report, '-boot-image-vm-served.drv')?.machine).toBe('local')
      expect(files['build/build.log']).toContain(
        `the substitute for '${setup.served}' from '${substituter}' is not signed by any of the keys in 'trusted-public-keys'`
      )
      expect(files['summary.md']).not.toContain('Substituted (not built)')
    },
    600_000
  )

  it.runIf(ready && suite === 'bookworm')(
    'a derivation that fails on the builder is named with it, in report.json and the summary',
    async () => {
      const setup = setUpBakedKeyImage(flake)
      nonces.push(setup.nonce)
      const result = await build(setup, remoteNonce, builder!, [`builders = ${builder!.machine}`], {
        BOOT_IMAGE_VM_REMOTE_FAIL: '1'
      })
      expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('build-failed')
      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json']) as Report
      const [failure] = report.builds[0].failures
      expect(failure?.name).toBe('boot-image-vm-remote-part')
      // Its own exit code (3), not the 1 Nix reports for it afterwards, and the builder.
      expect(failure?.reason).toBe('builder failed with exit code 3')
      expect(failure?.machine).toBe(builder!.uri)
      expect(files[failure!.log]).toContain('boot-image-vm: deliberate remote failure')
      // Where builds ran is kept for the failed build too.
      expect(byName(report, '-boot-image-vm-remote-part.drv')?.machine).toBe(builder!.uri)
      expect(files['summary.md']).toContain(`(failed on ${builder!.uri})`)
      expect(files['summary.md']).toContain(
        `| boot-image-vm-remote-part | \`${builder!.uri}\` (failed) |`
      )
    },
    600_000
  )

  it.runIf(ready && suite === 'bookworm')(
    'a builder nothing can reach: the machine’s failure naming it, not a missing feature',
    async () => {
      const setup = setUpBakedKeyImage(flake)
      nonces.push(setup.nonce)
      // The same entry, but ssh goes to a port nothing listens on (a builder that is down).
      const sshOpts = builder!.sshOpts.replace(/-p \d+/, '-p 9')
      // A fresh remotePart: the one built above is in this store already.
      const nonce = `${remoteNonce}-unreachable`
      const result = await build(setup, nonce, builder!, [`builders = ${builder!.machine}`], {
        NIX_SSHOPTS: sshOpts
      })
      expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('build-failed')
      const files = await artifactOf(service, result)
      const report = JSON.parse(files['report.json']) as Report
      expect(report.builds[0].failures).toEqual([])
      expect(report.builds[0].error).toMatch(
        new RegExp(
          `^This machine could not build .*the builder ${builder!.uri} could not be reached`
        )
      )
      expect(report.builds[0].error).toContain('NIX_SSHOPTS')
      expect(report.builds[0].error).toContain('Connection refused')
    },
    600_000
  )
})
