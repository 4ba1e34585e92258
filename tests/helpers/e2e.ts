// Shared by the end-to-end tests (tests/e2e/*.test.ts): the lab env, probes for the busybox
// fixture guest, the job log and the uploaded artifact.
import { expect } from 'vitest'
import type { ActionRun } from './action-runner.js'
import {
  startFakeResultsService,
  type FakeResultsService,
  type StartOptions
} from './fake-results-service.js'
import {
  LAB_AARCH64_DIR,
  LAB_KERNEL_DIR,
  LAB_NIX_CONF_DIR,
  LAB_PASS_ENV,
  LAB_ROOTFS_DIR
} from './lab.js'

/** The env every end-to-end test passes to runAction: the lab's Nix config, kernel and rootfs. */
export const LAB_ACTION_ENV: Record<string, string> = {
  NIX_CONF_DIR: LAB_NIX_CONF_DIR,
  BOOT_IMAGE_VM_LAB_KERNEL: LAB_KERNEL_DIR,
  BOOT_IMAGE_VM_LAB_ROOTFS: LAB_ROOTFS_DIR,
  BOOT_IMAGE_VM_LAB_AARCH64: LAB_AARCH64_DIR
}

/** The inputs every end-to-end test adds: pass-env names what the fixture flake reads. */
export const LAB_INPUTS: Record<string, string> = { 'pass-env': LAB_PASS_ENV.join('\n') }

/**
 * LAB_INPUTS and what a booting run of the fixture guest takes on this machine: 512 MiB, and a
 * boot-timeout that a TCG boot on a loaded 2-core machine meets (20-70 s).
 */
export const LAB_BOOT_INPUTS: Record<string, string> = {
  ...LAB_INPUTS,
  memory: '512',
  'boot-timeout': '240'
}

/**
 * The fake results service for tests that run the bundled action: Azurite behind
 * *.blob.core.windows.net over TLS unless told otherwise, so the steps' @actions clients take the
 * paths they take on GitHub (runAction hands the steps service.childEnv). Start one per file
 * (beforeAll): Azurite takes a second or two to start. blobStore: 'memory' only where a test needs
 * a fault Azurite cannot give or its steps cannot see this machine's files; say which at the call.
 */
export async function startResultsService(options: StartOptions = {}): Promise<FakeResultsService> {
  const started = performance.now()
  // E2E_BLOB_STORE=memory: the hand-written store throughout, to measure what Azurite costs.
  const blobStore = process.env.E2E_BLOB_STORE === 'memory' ? 'memory' : 'azurite'
  const service = await startFakeResultsService({ blobStore, ...options })
  // What the file pays for the real blob store, printed (not asserted): Azurite's start.
  const store = service.azure ? 'Azurite' : 'in-memory blob store'
  console.info(`results service with ${store} up in ${Math.round(performance.now() - started)} ms`)
  return service
}

/** The fixture guest is busybox + dropbear; the default probes expect systemd. */
export const BUSYBOX_PROBES: string = ['addresses: ip address show', 'kernel: uname -a'].join('\n')

/** The job log without the lines that only register masks. */
export function jobLog(run: ActionRun): string {
  return [run.main.stdout, run.main.stderr, run.post.stdout, run.post.stderr]
    .join('\n')
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
}

/**
 * The report files of the run's artifact, as text. Its id comes from main's output, or, when main
 * was killed before it could set one, from the post step's log (post delivered the report).
 */
export async function artifactOf(
  service: FakeResultsService,
  run: ActionRun
): Promise<Record<string, string>> {
  const id =
    run.outputs['artifact-id'] ??
    /Report uploaded as artifact ".*" \(id (\d+)\)/.exec(run.post.stdout)?.[1]
  const warnings = run.annotations.filter(a => a.level === 'warning').map(a => a.message)
  expect(id, `artifact-id output (${run.outputs['report-dir']}): ${warnings.join('; ')}`).toMatch(
    /^\d+$/
  )
  const artifact = service.artifacts.find(a => String(a.id) === id)
  expect(artifact, `artifact ${id} received`).toBeDefined()
  const files = await artifact!.files()
  return Object.fromEntries(Object.entries(files).map(([n, data]) => [n, data.toString('utf8')]))
}
