// The bundled action in a runner-shaped root (scripts/runner-image.sh, tests/helpers/runner-image.ts):
// as `runner` (uid 1001) under Node 24, fetched as a git archive (no node_modules), with multi-user
// Nix (nix-daemon as root, sandbox = true, `nix: existing`) and no QEMU or OVMF in the image. Each
// leg runs on a fresh overlay, so what one leg installs or builds the next does not see (but for each
// suite's warm runner, which says why its runs may share one).
// A boot under TCG is most of a leg's time, so a boot is shared where proofs read different parts
// of one run, a run needs no boot where its proof ends with the build (boot: false), and a proof
// that cannot differ by the image's Nix or QEMU runs on one suite, saying why. What does differ
// (the daemon, the sandbox, trusted and untrusted users, the cache's import, QEMU and OVMF from
// apt) runs on every suite.
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePathInfo } from '../../src/cache/keys.js'
import type { Report } from '../../src/model/index.js'
import type { ActionRun, RunOptions } from '../helpers/action-runner.js'
import { BUSYBOX_PROBES, LAB_INPUTS, artifactOf, jobLog } from '../helpers/e2e.js'
import {
  builtDerivations,
  imagePlace,
  setUpBakedKeyImage,
  unpackEntry,
  type BakedKeySetup
} from '../helpers/cache-reuse.js'
import {
  startFakeResultsService,
  type FakeResultsService
} from '../helpers/fake-results-service.js'
import {
  GUEST_WORKSPACE,
  enterRunnerImage,
  runnerImageNix,
  type EnterOptions,
  type RunnerImage,
  type RunnerSuite
} from '../helpers/runner-image.js'
import { AARCH64_LAB_MISSING } from '../helpers/lab.js'

const SUITES: RunnerSuite[] = ['bookworm', 'trixie', 'forky']
const LEG_TIMEOUT = 900_000
/** cacheExpensive's rounds of sha256 here (the fixture's default: 1000, ~20 s of CPU). */
const EXPENSIVE_ROUNDS = 10
const isRoot = process.getuid?.() === 0
// chroot and mount need root: scripts/runner-image.sh and this file run under .ci/run as root.
if (!isRoot) console.warn('runner-image.test.ts: skipped, it needs root (chroot, mount)')

let service: FakeResultsService
/** Suites whose bootKeyImage entry the fake cache holds (the untrusted leg imports it). */
const savedKeys = new Set<RunnerSuite>()
let runCount = 0
beforeAll(async () => {
  // The in-memory blob store on http://127.0.0.1, not Azurite (the other e2e files' default): the
  // steps run inside the runner image, which does not see Azurite's test CA or the host-name preload.
  service = await startFakeResultsService()
})
afterAll(async () => {
  await service?.close()
})

interface Leg {
  image: RunnerImage
  run(inputs: Record<string, string>, options?: Partial<RunOptions>): Promise<ActionRun>
}

/**
 * One leg: a fresh overlay of the suite's image, always torn down; prints what it cost. `on`: the
 * suite's warm runner instead (entered once, closed after the suite's last case).
 */
async function leg(
  suite: RunnerSuite,
  name: string,
  body: (leg: Leg) => Promise<void>,
  options: EnterOptions & { on?: () => Promise<RunnerImage> } = {}
): Promise<void> {
  const started = Date.now()
  const image = options.on ? await options.on() : await enterRunnerImage(suite, options)
  const enteredMs = Date.now() - started
  const steps: string[] = []
  try {
    await body({
      image,
      run: async (inputs, runOptions = {}) => {
        const result = await image.run({
          inputs: {
            ...LAB_INPUTS,
            flake: '.',
            nix: 'existing',
            memory: '512',
            'boot-timeout': '300',
            cache: 'false',
            probes: BUSYBOX_PROBES,
            // Each leg is its own job on a real runner: names must not collide in the one service.
            'artifact-name': `boot-image-vm-logs-${suite}-${name}-${++runCount}`,
            ...inputs
          },
          resultsService: service,
          ...runOptions
        })
        steps.push(
          `main ${result.main.durationMs} ms, post ${result.post.durationMs} ms${stageTimes(image, result)}`
        )
        return result
      }
    })
  } finally {
    if (!options.on) await image.close()
    console.log(
      `[bench] runner-image ${suite} ${name}: leg ${Date.now() - started} ms (enter ${enteredMs} ms; ${steps.join('; ')})`
    )
  }
}

/** Where a run's main spent its time, by stage, for the leg's [bench] line ('' without a report). */
function stageTimes(image: RunnerImage, run: ActionRun): string {
  const file = join(image.hostPath(run.outputs['report-dir'] ?? '/nonexistent'), 'report.json')
  if (!existsSync(file)) return ''
  const stages = (JSON.parse(readFileSync(file, 'utf8')) as Report).stages
  const times = Object.entries(stages)
    .filter(([, stage]) => stage && stage.durationMs > 0)
    .map(([name, stage]) => `${name} ${((stage?.durationMs ?? 0) / 1000).toFixed(1)} s`)
  return times.length ? ` [${times.join(', ')}]` : ''
}

/** The local report.json (post has added to it), read through the image's root. */
function reportOf(image: RunnerImage, run: ActionRun): Report {
  return JSON.parse(
    readFileSync(join(image.hostPath(run.outputs['report-dir']), 'report.json'), 'utf8')
  )
}

/** QEMU or nix processes left in the image (its nix-daemon excluded). */
function leftInImage(image: RunnerImage): string[] {
  return image
    .processes()
    .map(p => p.command)
    .filter(command => /qemu-system|(^|\/)nix(\s|$)|nix build|nix develop/.test(command))
}

/** What every run must end with, whatever its result. */
function expectCleanEnd(image: RunnerImage, run: ActionRun): void {
  expect(run.main.stderr).not.toMatch(/TypeError|ReferenceError|Cannot find (module|package)/)
  expect(run.post.exitCode, run.post.stderr.slice(-2000)).toBe(0)
  expect(run.leftovers).toEqual([])
  expect(leftInImage(image)).toEqual([])
  expect(existsSync(image.hostPath(run.state['key-dir'] ?? '/nonexistent-key-dir'))).toBe(false)
}

/** Resolves 3 s after the boot's QEMU (not the KVM check's) starts in the image; stop() ends it. */
function bootWatch(image: RunnerImage): { qemuUp: () => Promise<void>; stop: () => void } {
  let stopped = false
  const qemuUp = async (): Promise<void> => {
    while (!stopped) {
      if (image.processes().some(p => /qemu-system.*\.iso/.test(p.command))) {
        await new Promise(r => setTimeout(r, 3000))
        return
      }
      await new Promise(r => setTimeout(r, 250))
    }
    throw new Error('main ended before QEMU started')
  }
  return { qemuUp, stop: () => (stopped = true) }
}

const hasQemu = (image: RunnerImage): boolean =>
  image.exec(['sh', '-c', 'command -v qemu-system-x86_64']).status === 0

for (const suite of SUITES) {
  describe.skipIf(!isRoot)(`runner image ${suite}`, () => {
    // The suite's warm runner: one job's runner that several runs use one after the other, for
    // runs whose proofs need neither a fresh store nor a runner without QEMU. The control run is
    // its first (no QEMU yet: it proves the provisioning); the cancel and SIGKILL runs and the
    // default probes then find that QEMU on PATH. Each run checks it left nothing behind, and
    // each passes on a fresh runner too (it provisions QEMU itself when it finds none).
    let warm: Promise<RunnerImage> | undefined
    const warmRunner = (): Promise<RunnerImage> => (warm ??= enterRunnerImage(suite))
    afterAll(async () => {
      await (await warm)?.close()
    })

    it('is shaped like the runner: no QEMU, no OVMF, runner reaches the daemon, sandbox on', async () => {
      await leg(suite, 'shape', async ({ image }) => {
        expect(hasQemu(image)).toBe(false)
        expect(existsSync(image.hostPath('/usr/share/OVMF'))).toBe(false)
        expect(image.exec(['id', '-u']).out.trim()).toBe('1001')
        expect(image.exec(['sudo', '-n', 'true']).status).toBe(0)
        const store = image.exec(['nix', 'store', 'ping'])
        expect(store.out).toMatch(/daemon/)
        const config = image.exec(['nix', 'show-config'])
        expect(config.out).toMatch(/^sandbox = true$/m)
        expect(config.out).toMatch(/^trusted-users = root runner$/m)
        // A sandboxed build through the daemon leaves the image's own tools alone (a sandbox
        // path nested in a bound /bin once truncated /usr/bin/dash).
        const dash = statSync(image.hostPath('/usr/bin/dash')).size
        const built = image.exec([
          'sh',
          '-c',
          `cd ${GUEST_WORKSPACE} && nix build .#notAnIso --no-link -L`
        ])
        expect(built.status, built.out).toBe(0)
        expect(statSync(image.hostPath('/usr/bin/dash')).size).toBe(dash)
        // The action arrives as a runner fetches it: no node_modules beside dist/.
        expect(
          existsSync(
            image.hostPath(
              '/home/runner/work/_actions/boot-image-vm/boot-image-vm/main/dist/index.js'
            )
          )
        ).toBe(true)
        expect(
          existsSync(
            image.hostPath(
              '/home/runner/work/_actions/boot-image-vm/boot-image-vm/main/node_modules'
            )
          )
        ).toBe(false)
        console.log(`runner image ${suite}: ${runnerImageNix(suite)}`)
      })
    })

    it(
      'qemu: path finds no QEMU: setup-failed before any build',
      async () => {
        await leg(suite, 'qemu-path', async ({ image, run }) => {
          const result = await run({ image: 'bootImage', qemu: 'path' })
          expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('setup-failed')
          expect(result.main.exitCode).not.toBe(0)
          const report = reportOf(image, result)
          expect(report.builds ?? []).toEqual([])
          expect(
            existsSync(join(image.hostPath(result.outputs['report-dir']), 'build/events.jsonl'))
          ).toBe(false)
          expect(jobLog(result)).toMatch(/qemu-system-x86_64/)
          expect(result.outputs['artifact-id']).toMatch(/^\d+$/)
          expectCleanEnd(image, result)
        })
      },
      LEG_TIMEOUT
    )

    it(
      'a build failure two levels down: the leaf blamed, its whole log read from the daemon',
      async () => {
        await leg(suite, 'build-failure', async ({ image, run }) => {
          // boot: false: the proof ends with the build. With a boot, apt's QEMU beside the build
          // (never stopped half-way) held main ~15 s after the failure and proved nothing here.
          const result = await run({ image: 'failingDeep', boot: 'false' })
          expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('build-failed')
          const failed = JSON.parse(result.outputs['failed-drvs']) as {
            name: string
            log: string
          }[]
          expect(failed.map(f => f.name)).toEqual(['broken-leaf'])
          const files = await artifactOf(service, result)
          const log = files[failed[0].log]
          // The whole log (Nix quotes only the last 10/25 lines), both streams.
          for (const line of [
            'line 1',
            'line 20',
            'line 40',
            'broken-leaf: stderr line 10',
            'deliberate build failure'
          ]) {
            expect(log, failed[0].log).toContain(line)
          }
          expect(log.split('\n').filter(l => /^line \d+$/.test(l))).toHaveLength(40)
          const report = reportOf(image, result)
          expect(JSON.stringify(report.builds)).toMatch(/boot-image-vm-rootfs/)
          expectCleanEnd(image, result)
        })
      },
      LEG_TIMEOUT
    )

    // One suite is enough: the lab's arm64 GRUB modules are bookworm's, as is its grub-mkrescue.
    it.skipIf(suite !== 'bookworm' || AARCH64_LAB_MISSING)(
      'an aarch64 image: qemu: apt installs qemu-system-arm and qemu-efi-aarch64, boots it emulated',
      async () => {
        await leg(suite, 'aarch64', async ({ image, run }) => {
          // arch given: the first provisioning is already the guest's (no x86 QEMU installed).
          const result = await run({ image: 'aarch64Image', qemu: 'apt', arch: 'aarch64' })
          expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
          const report = reportOf(image, result)
          expect(report.qemu).toMatchObject({
            status: 'ready',
            arch: 'aarch64',
            source: 'apt',
            binary: '/usr/bin/qemu-system-aarch64'
          })
          expect(report.qemu?.ovmf?.code).toMatch(/AAVMF_CODE\.fd$/)
          expect(hasQemu(image)).toBe(false)
          expect(report.vm?.boot.guest).toMatchObject({ arch: 'aarch64', emulated: true })
          expect(result.outputs.accel).toBe('tcg')
          expectCleanEnd(image, result)
        })
      },
      LEG_TIMEOUT
    )

    // One run, three proofs that each need a boot on this suite's QEMU and a build through its
    // daemon: they read different parts of the run (the QEMU stage, the builds and env diff, the
    // guest and its test command), so nothing one sets up changes what another checks. A plain
    // BIOS boot with the default `qemu` input is the cache-hit leg's below.
    it(
      'the control image passes under UEFI: QEMU and OVMF provisioned by the action (qemu: apt), the test command under its Nix; build-in: both on socketImage, daemon builds, so the devshell TMPDIR does not reach them',
      async () => {
        await leg(
          suite,
          'control',
          async ({ image, run }) => {
            expect(hasQemu(image)).toBe(false)
            // The incident's TMPDIR depth: fails in-process (tests/e2e/devshell.test.ts), not here.
            const tmpdir = '/tmp/nix-shell.abcdef/pytest-of-runner/pytest-0/boot-image-ssh-key0'
            image.exec(['mkdir', '-p', tmpdir])
            // qemu: apt asked for by name; OVMF comes with it for UEFI. The seed's harness runs
            // `nix develop … -c pytest`: the test command needs the action's Nix.
            const result = await run(
              {
                image: 'socketImage',
                'build-in': 'both',
                firmware: 'uefi',
                qemu: 'apt',
                'test-command': 'nix --version && nix develop .#bootImageTest -c true'
              },
              { env: { TMPDIR: tmpdir } }
            )
            // The control: QEMU from apt, the boot, the test command.
            expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
            expect(result.outputs.accel).toBe('tcg')
            // The setup section names where QEMU came from (the image has none: apt).
            expect(result.summary).toMatch(/apt/)
            const local = reportOf(image, result)
            expect(local.vm?.test?.exitCode).toBe(0)
            const files = await artifactOf(service, result)
            expect(files['vm/serial.log']).toContain('boot-image-vm: ready')
            // firmware: uefi booted with OVMF.
            expect(files['vm/qemu-args.txt'] ?? '').toMatch(/pflash/)
            // build-in: both.
            const report = JSON.parse(files['report.json']) as {
              builds: { context: string; status: string }[]
              envDiff: {
                verdicts: string[]
                differences: { name: string; likelihood: string; reason: string }[]
              }
            }
            expect(report.builds.map(b => [b.context, b.status])).toEqual([
              ['host', 'passed'],
              ['devshell', 'passed']
            ])
            // The verdict says where daemon builds run instead of counting socket-path bytes.
            expect(report.envDiff.verdicts.join('\n')).toMatch(/daemon/)
            expect(report.envDiff.verdicts.join('\n')).not.toMatch(
              /in-process under|bytes for socket paths/
            )
            const tmp = report.envDiff.differences.find(d => d.name === 'TMPDIR')
            // Daemon builds do not use the client's TMPDIR: the difference is rated low, and says why.
            expect(tmp?.likelihood, tmp?.reason).toBe('low')
            expect(tmp?.reason).toMatch(/daemon/)
            expectCleanEnd(image, result)
          },
          { on: warmRunner }
        )
      },
      LEG_TIMEOUT
    )

    // Two runs on the warm runner, one after the other, after the control's: both find its QEMU
    // on PATH (without the control, the first provisions it from apt). Neither proof is about
    // provisioning (the control's is); each run checks that it left nothing behind.
    it(
      'cancel mid-boot: post finishes the report; then main SIGKILLed mid-boot: post alone delivers the report; nothing left behind',
      async () => {
        await leg(
          suite,
          'cancel-then-killed',
          async ({ image, run }) => {
            const cancelWatch = bootWatch(image)
            // The runner's cancel (SIGINT, SIGTERM +7.5 s, SIGKILL +10 s) once the boot's QEMU (not
            // the KVM check's) has run 3 s.
            const cancelled = await run({ image: 'bootImage' }, { cancelWhen: cancelWatch.qemuUp })
            cancelWatch.stop()
            console.log(
              `runner image ${suite}: cancelled main ended by ${cancelled.main.signal ?? `exit ${cancelled.main.exitCode}`} after ${cancelled.main.durationMs} ms`
            )
            const files = await artifactOf(service, cancelled)
            expect(JSON.parse(files['report.json']).cancelled, jobLog(cancelled).slice(-4000)).toBe(
              true
            )
            expect(files['summary.md'] ?? cancelled.summary).toMatch(/cancel/i)
            expectCleanEnd(image, cancelled)

            const killWatch = bootWatch(image)
            // Where the runner's cancel ends when main overruns its 10 s: SIGKILL. Main here would
            // end in time, so the stand-in kills it at once; what counts is what post does alone.
            const killed = await run({ image: 'bootImage' }, { killWhen: killWatch.qemuUp })
            killWatch.stop()
            expect(killed.main.signal, jobLog(killed).slice(-4000)).toBe('SIGKILL')
            const report = JSON.parse((await artifactOf(service, killed))['report.json']) as Report
            expect(report.result).toBe('boot-failed')
            expect(report.cancelled).toBe(true)
            expect(report.error).toMatch(/post step completed this report/)
            expect(killed.summary).toMatch(/boot-failed/)
            expectCleanEnd(image, killed)
          },
          { on: warmRunner }
        )
      },
      LEG_TIMEOUT
    )

    it(
      'the image cache as a trusted user: the second runner imports it',
      async () => {
        let first: Report | undefined
        // bootKeyImage takes root's key at boot: the same .drv on every run, so an exact hit.
        // The first runner's save needs no boot (the entry is saved after the build); the second
        // boots what it imported.
        await leg(suite, 'cache-save', async ({ image, run }) => {
          const result = await run({ image: 'bootKeyImage', cache: 'true', boot: 'false' })
          first = reportOf(image, result)
          expect(first.cache?.status, jobLog(result).slice(-4000)).toBe('miss')
          expect(first.cache?.save?.status, JSON.stringify(first.cache)).toBe('saved')
          savedKeys.add(suite)
          expectCleanEnd(image, result)
        })
        await leg(suite, 'cache-hit', async ({ image, run }) => {
          expect(hasQemu(image)).toBe(false)
          const result = await run({ image: 'bootKeyImage', cache: 'true' })
          const report = reportOf(image, result)
          expect(report.cache?.status, JSON.stringify(report.cache)).toBe('hit')
          expect(report.cache?.key).toBe(first?.cache?.key)
          expect(report.builds[0].built).toEqual([])
          // The imported image boots with this run's key, under BIOS, on QEMU that the default
          // `qemu` input (auto) provisioned from apt: nothing on PATH, no flake nixpkgs.
          expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
          expect(report.qemu?.source).toBe('apt')
          expect(result.summary).toMatch(/apt/)
          expect(result.outputs.accel).toBe('tcg')
          expectCleanEnd(image, result)
        })
      },
      LEG_TIMEOUT
    )

    it(
      'the image cache as an untrusted user: a clear warning and a normal build',
      async () => {
        // An entry for this image must exist: saved by the trusted leg above, or seeded here.
        if (!savedKeys.has(suite)) {
          await leg(suite, 'cache-seed', async ({ image, run }) => {
            const result = await run({ image: 'bootKeyImage', cache: 'true', boot: 'false' })
            expect(reportOf(image, result).cache?.save?.status, jobLog(result).slice(-4000)).toBe(
              'saved'
            )
          })
        }
        await leg(
          suite,
          'cache-untrusted',
          async ({ image, run }) => {
            expect(image.exec(['nix', 'show-config']).out).toMatch(/^trusted-users = root$/m)
            // What an untrusted user changes is the import and the build; the boot after them is
            // the trusted leg's (and the control's): boot: false.
            const result = await run({ image: 'bootKeyImage', cache: 'true', boot: 'false' })
            const report = reportOf(image, result)
            expect(report.cache?.status, JSON.stringify(report.cache)).toBe('error')
            const warning = result.annotations.find(
              a => a.level === 'warning' && /cache/i.test(a.message)
            )
            expect(warning?.message, jobLog(result).slice(-4000)).toMatch(/trusted|signature/i)
            console.log(`runner image ${suite}: untrusted import warning: ${warning?.message}`)
            expect(report.builds[0].status).toBe('passed')
            expect(report.builds[0].built?.length).toBeGreaterThan(0)
            // The cache's error is a warning, not the verdict.
            expect(result.outputs.result).toBe('passed')
            expectCleanEnd(image, result)
          },
          { trusted: false }
        )
      },
      LEG_TIMEOUT
    )

    it(
      'the image cache on an image that bakes the run key: the second runner restores the expensive derivation and builds only what depends on the key',
      async () => {
        // tests/e2e/cache-reuse.test.ts's proof, through the daemon with the sandbox on, as
        // runner: the file:// substituter is made in the first leg's image (by runner, through
        // the daemon) and copied into the second's at the same path; the fake results service
        // holds the entry between the two legs (two runners, one repository's cache).
        const copy = mkdtempSync(join(tmpdir(), 'biv-runner-substituter-'))
        let setup: BakedKeySetup | undefined
        let first: { report: Report; mainMs: number; expensiveNarSize: number } | undefined
        const inputs = (s: BakedKeySetup): Record<string, string> => ({
          image: 'bakedKeyImage',
          cache: 'true',
          // The cache needs no boot (and the image no QEMU): the verdict comes after the build.
          boot: 'false',
          'extra-nix-conf': s.extraNixConf
        })
        try {
          await leg(suite, 'reuse-save', async ({ image, run }) => {
            // 10 rounds, not 1000: the proof is which derivations build and which are restored
            // (the build's events), not how long; tests/e2e/cache-reuse.test.ts times the saving.
            setup = setUpBakedKeyImage(imagePlace(image), { rounds: EXPENSIVE_ROUNDS })
            cpSync(image.hostPath(setup.substituter), copy, { recursive: true })
            const result = await run(inputs(setup), { env: setup.actionEnv })
            const report = reportOf(image, result)
            expect(report.builds[0]?.status, JSON.stringify(report.builds[0])).toBe('passed')
            expect(report.cache?.status, report.cache?.detail).toBe('miss')
            const built = builtDerivations(image.hostPath(result.outputs['report-dir']))
            expect(built.some(drv => drv.endsWith('-boot-image-vm-expensive.drv'))).toBe(true)
            // The daemon substituted it from the file:// cache: never built.
            expect(built.some(drv => drv.endsWith('-boot-image-vm-served.drv'))).toBe(false)
            expect(image.exec(['test', '-e', setup.served]).status).toBe(0)
            expect(report.cache?.save?.status, report.cache?.save?.detail).toBe('saved')
            expect(report.cache?.save?.detail).toMatch(/left out 1 paths the substituters serve/)
            const info = image.exec(['nix', 'path-info', '--json', setup.expensive])
            const [{ narSize }] = parsePathInfo(info.stdout)
            first = { report, mainMs: result.main.durationMs, expensiveNarSize: narSize }
            expectCleanEnd(image, result)
          })
          const s = setup!
          const saved = first!.report
          const entries = service.caches.filter(entry => entry.key === saved.cache?.key)
          expect(entries).toHaveLength(1)
          const entry = unpackEntry(entries[0].data, `${copy}-entry`)
          expect(entry.stored).toContain(s.expensive)
          expect(entry.stored).not.toContain(s.served)
          expect(entry.narinfoPaths).not.toContain(s.served)
          expect(entry.stored.filter(path => path.endsWith('.iso'))).toEqual([])
          // Besides the expensive path, at most the devshell's environment (tiny).
          expect(
            entry.stored.filter(path => path !== s.expensive && !path.endsWith('-env'))
          ).toEqual([])
          // The expensive path is incompressible: the entry is about its size.
          const entryBytes = saved.cache?.save?.bytes ?? 0
          expect(entryBytes).toBeGreaterThan(first!.expensiveNarSize * 0.95)
          expect(entryBytes).toBeLessThan(first!.expensiveNarSize * 1.1)

          await leg(suite, 'reuse-restore', async ({ image, run }) => {
            cpSync(copy, image.hostPath(s.substituter), { recursive: true })
            image.exec(['chown', '-R', '1001:1001', s.substituter], { asRoot: true })
            // A fresh runner: neither path is in its store.
            expect(image.exec(['test', '-e', s.expensive]).status).not.toBe(0)
            const result = await run(inputs(s), { env: s.actionEnv })
            const report = reportOf(image, result)
            expect(report.builds[0]?.status, JSON.stringify(report.builds[0])).toBe('passed')
            expect(report.builds[0].drvPath).not.toBe(saved.builds[0].drvPath)
            expect(report.cache?.matchedKey, report.cache?.detail).toBe(saved.cache?.key)
            expect(report.cache?.status, report.cache?.detail).toBe('partial')
            expect(report.cache?.detail).toMatch(
              /store paths \(4\.\d MiB\) that do not depend on the run's key; still built: the 1 derivation\(s\) that depend on the run's key \(boot-image-vm-baked\.iso\)/
            )
            const built = builtDerivations(image.hostPath(result.outputs['report-dir']))
            expect(built.map(drv => drv.replace(/^.*?-/, ''))).toEqual([
              'boot-image-vm-baked.iso.drv'
            ])
            expect(image.exec(['test', '-e', s.expensive]).status).toBe(0)
            expect(image.exec(['test', '-e', s.served]).status).toBe(0)
            expect(report.cache?.save?.status).toBe('skipped')
            expect(result.annotations.filter(a => /cache/i.test(a.message))).toEqual([])
            expectCleanEnd(image, result)
            const restore = report.cache
            console.log(
              `[bench] runner-image ${suite} bakedKeyImage (${EXPENSIVE_ROUNDS} rounds): time to verdict (main) ` +
                `${(first!.mainMs / 1000).toFixed(1)} s without an entry, ` +
                `${(result.main.durationMs / 1000).toFixed(1)} s with it (restore ${restore?.restoreMs} ms, ` +
                `${restore?.bytesRestored} B; build stage ${((saved.stages.build?.durationMs ?? 0) / 1000).toFixed(1)} s → ` +
                `${((report.stages.build?.durationMs ?? 0) / 1000).toFixed(1)} s); entry ${entryBytes} B ` +
                `for a ${first!.expensiveNarSize} B expensive path; ` +
                `evaluations ${JSON.stringify(restore?.evaluations)}`
            )
          })
        } finally {
          rmSync(copy, { recursive: true, force: true })
          rmSync(`${copy}-entry`, { recursive: true, force: true })
        }
      },
      LEG_TIMEOUT
    )

    // One suite is enough: the guest (the lab's Debian systemd root with OpenSSH, and the probes'
    // commands in it) and the client (ssh2 in the bundle, under the same Node 24) are the same in
    // every suite. What differs by suite is the Nix that builds the ISO (its key baked in through
    // the daemon, with the image's own grub-mkrescue) and the QEMU that boots it: the control run
    // proves both on each suite. forky's QEMU 11 is the newest, and no other file boots this guest
    // on it (the rest use the host's QEMU 7.2). On the warm runner: the probes read the guest, not
    // how its QEMU came.
    it.skipIf(suite !== 'forky')(
      'the default probes on systemd + OpenSSH, key baked in at build',
      async () => {
        await leg(
          suite,
          'systemd-default-probes',
          async ({ image, run }) => {
            const result = await run({ image: 'systemdImage', probes: '', memory: '768' })
            expect(result.outputs.result, jobLog(result).slice(-4000)).toBe('passed')
            const report = reportOf(image, result)
            const names = report.vm?.probes.map(p => p.name) ?? []
            expect(names).toEqual(
              expect.arrayContaining(['system-state', 'failed-units', 'addresses'])
            )
            for (const probe of report.vm?.probes ?? []) {
              expect(probe, probe.name).toMatchObject({ exitCode: 0, timedOut: false })
            }
            const files = await artifactOf(service, result)
            expect(files['probes/system-state.txt']).toMatch(/running/)
            expectCleanEnd(image, result)
          },
          { on: warmRunner }
        )
      },
      LEG_TIMEOUT
    )
  })
}

describe.skipIf(!isRoot)('runner images side by side', () => {
  it(
    "two legs build at once: neither daemon kills the other's builder",
    async () => {
      // Legs of other test files run at once on this kernel, and a daemon SIGKILLs every process
      // of a build user's uid before it builds as that user: with the image's own uids (30001…)
      // a leg's builder died `due to signal 9 (Killed)` when another leg started a build.
      const images: RunnerImage[] = []
      try {
        images.push(await enterRunnerImage('bookworm'), await enterRunnerImage('bookworm'))
        const [a, b] = images
        const build = (seconds: number): string =>
          `nix build --impure --no-link --expr 'derivation { name = "side-by-side"; ` +
          `system = "x86_64-linux"; builder = "/bin/sh"; nonce = "${Date.now()}"; ` +
          `args = [ "-c" "/usr/bin/sleep ${seconds}; echo done > $out" ]; }'`
        // a's build runs in the background for 8 s; b builds (as its first build user) meanwhile.
        const started = a.exec([
          'sh',
          '-c',
          `setsid sh -c '${build(8).replace(/'/g, `'\\''`)} >/tmp/a.log 2>&1; echo $? >/tmp/a.rc' </dev/null >/dev/null 2>&1 &`
        ])
        expect(started.status, started.out).toBe(0)
        // Its builder runs in the sandbox, a root below a's: found by its command line and root.
        const sleeping = (): boolean =>
          readdirSync('/proc')
            .filter(pid => /^\d+$/.test(pid))
            .some(pid => {
              try {
                return (
                  readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '/usr/bin/sleep\u00008\u0000' &&
                  readlinkSync(`/proc/${pid}/root`).startsWith(a.root)
                )
              } catch {
                return false
              }
            })
        for (let waited = 0; !sleeping(); waited += 100) {
          if (waited > 60_000) {
            throw new Error(`a's builder did not start: ${a.exec(['cat', '/tmp/a.log']).out}`)
          }
          await new Promise(r => setTimeout(r, 100))
        }
        const quick = b.exec(['sh', '-c', build(0)])
        expect(quick.status, quick.out).toBe(0)
        for (let waited = 0; !existsSync(a.hostPath('/tmp/a.rc')); waited += 250) {
          if (waited > 60_000) throw new Error("a's build did not end")
          await new Promise(r => setTimeout(r, 250))
        }
        const log = a.exec(['cat', '/tmp/a.log']).out
        expect(readFileSync(a.hostPath('/tmp/a.rc'), 'utf8').trim(), log).toBe('0')
      } finally {
        for (const image of images) await image.close()
      }
    },
    LEG_TIMEOUT
  )
})
