// Secrets: canaries planted where a job keeps its secrets (GITHUB_TOKEN, ACTIONS_RUNTIME_TOKEN, a
// custom *_TOKEN and *_PASSWORD, the github-token input, a secret-named variable a test command
// prints), then everything the action produced is scanned for them and for the private key: the
// artifact, the report on disk, the job summary, the outputs, exported variables and paths, the
// state handed to post, the job log. Zero hits. One passing boot through the bundled action.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction, type ActionRun } from '../helpers/action-runner.js'
import { runtimeToken, type FakeResultsService } from '../helpers/fake-results-service.js'
import {
  LAB_ACTION_ENV,
  artifactOf,
  jobLog,
  startResultsService,
  LAB_BOOT_INPUTS
} from '../helpers/e2e.js'
import { makeFixtureFlake } from '../helpers/lab.js'
import { SECRET_CANARIES, SECRET_PLACES } from './hardening-cases.js'
import { tallyCases } from '../helpers/reliability-tally.js'

tallyCases('Secrets')

/** Variables a runner often has whose names hold a secret word only inside a longer word. */
const ORDINARY_ENV = {
  GIT_AUTHOR_NAME: 'root',
  GIT_AUTHOR_EMAIL: 'root@example.org',
  GIT_COMMITTER_NAME: 'root',
  TOKENIZER_PATH: '/opt/tokenizer'
}

const canary = (name: string): string => SECRET_CANARIES.find(c => c.name === name)!.value

let service: FakeResultsService
let run: ActionRun
let scratch: string
let files: Record<string, string>
/** The private key, as the test command found it while the VM was up. */
let privateKey: string
const runtime = runtimeToken()

beforeAll(async () => {
  service = await startResultsService()
  scratch = mkdtempSync(join(tmpdir(), 'hardening-secrets-'))
  const flake = makeFixtureFlake()
  run = await runAction({
    inputs: {
      ...LAB_BOOT_INPUTS,
      flake,
      devshell: '',
      probes: 'kernel: uname -a\nenv [optional]: env',
      'github-token': canary('github-token input'),
      'test-command': [
        'echo "api=$MY_API_TOKEN pw=$DEPLOY_PASSWORD gh=$GITHUB_TOKEN"',
        'echo "custom=$CUSTOM_SERVICE_TOKEN runtime=$ACTIONS_RUNTIME_TOKEN"',
        `cp "$BOOT_IMAGE_VM_SSH_KEY" ${scratch}/key`,
        'cat "$BOOT_IMAGE_VM_SSH_KEY"',
        'ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes ' +
          '-i "$BOOT_IMAGE_VM_SSH_KEY" -p "$BOOT_IMAGE_VM_SSH_PORT" root@127.0.0.1 uname -r'
      ].join('\n')
    },
    env: {
      ...LAB_ACTION_ENV,
      GITHUB_TOKEN: canary('GITHUB_TOKEN'),
      MY_API_TOKEN: canary('MY_API_TOKEN'),
      CUSTOM_SERVICE_TOKEN: canary('CUSTOM_SERVICE_TOKEN'),
      DEPLOY_PASSWORD: canary('DEPLOY_PASSWORD'),
      ACTIONS_RUNTIME_TOKEN: runtime,
      // An ordinary environment: no secrets by their names (issue 22: `root` once withheld files).
      ...ORDINARY_ENV
    },
    resultsService: service
  })
  files = await artifactOf(service, run)
  privateKey = existsSync(join(scratch, 'key')) ? readFileSync(join(scratch, 'key'), 'utf8') : ''
}, 400_000)

afterAll(async () => {
  await service.close()
  await run?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

/** Everything the action produced, by place (each of SECRET_PLACES). */
function produced(): Record<(typeof SECRET_PLACES)[number], Record<string, string>> {
  const reportDir = run.outputs['report-dir']
  const onDisk: Record<string, string> = {}
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile()) onDisk[relative(reportDir, path)] = readFileSync(path, 'utf8')
    }
  }
  if (existsSync(reportDir)) walk(reportDir)
  return {
    artifact: files,
    'report on disk': onDisk,
    'job summary': { summary: run.summary },
    outputs: run.outputs,
    'exported variables and paths': { ...run.env, path: run.path.join('\n') },
    'state for post': run.state,
    'job log': { log: jobLog(run) }
  }
}

/** Every value that must not appear: the canaries and each line of the private key. */
function needles(): { name: string; value: string }[] {
  const keyLines = privateKey
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length >= 16 && !line.startsWith('-----'))
  return [
    ...SECRET_CANARIES.map(c => ({ name: c.name, value: c.value })),
    { name: 'ACTIONS_RUNTIME_TOKEN', value: runtime },
    ...keyLines.map((value, i) => ({ name: `private key line ${i + 1}`, value }))
  ]
}

describe('secrets never leave the action', () => {
  it('the run passed and the test command saw (and printed) every canary', () => {
    expect(run.outputs.result, jobLog(run).slice(-4000)).toBe('passed')
    expect(privateKey).toContain('OPENSSH PRIVATE KEY')
    const output = files['test/output.log']
    expect(output).toContain('api=*** pw=*** gh=***')
    // ACTIONS_RUNTIME_TOKEN is not for the test command (as for a `run:` step): empty there.
    expect(output).toMatch(/custom=\*\*\* runtime=$/m)
    expect(output).toMatch(/^\d+\.\d+/m) // ssh with the ephemeral key reached the guest
  })

  it.each(SECRET_PLACES.map(place => [place]))('no canary and no key line in the %s', place => {
    const values = needles()
    expect(values.length).toBeGreaterThan(SECRET_CANARIES.length + 1)
    const hits: string[] = []
    for (const [name, text] of Object.entries(produced()[place])) {
      for (const needle of values)
        if (text.includes(needle.value)) hits.push(`${name}: ${needle.name}`)
    }
    expect(hits).toEqual([])
  })

  it('nothing was withheld: redaction kept every file clean before the last scan', () => {
    const report = JSON.parse(files['report.json']) as { upload?: { withheld: string[] } }
    expect(report.upload?.withheld ?? []).toEqual([])
  })

  it('an ordinary environment (GIT_AUTHOR_NAME=root …) redacts nothing: report.json is whole', () => {
    const report = JSON.parse(files['report.json']) as { complete?: unknown; result?: string }
    expect(report.complete).toBe(true)
    expect(report.result).toBe('passed')
    expect(files['report.json']).not.toMatch(/": \*\*\*|"\*\*\*"/)
    expect(run.masks.filter(mask => Object.values(ORDINARY_ENV).includes(mask))).toEqual([])
  })

  it('the SSH forward listens on 127.0.0.1 only', () => {
    const args = files['vm/qemu-args.txt']
    expect(args).toMatch(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/)
    expect(args).not.toMatch(/hostfwd=tcp::|hostfwd=tcp:0\.0\.0\.0/)
  })

  it('after post: the key is gone and the access-token configuration removed', () => {
    const keyDir = run.state['key-dir']
    expect(keyDir).toBeTruthy()
    expect(existsSync(keyDir)).toBe(false)
    const cleanup = JSON.parse(run.state['cleanup-paths'] ?? '[]') as string[]
    expect(cleanup.some(path => path.endsWith('access-tokens.conf'))).toBe(true)
    for (const path of cleanup) expect(existsSync(path), path).toBe(false)
    expect(run.leftovers).toEqual([])
    expect(run.post.exitCode).toBe(0)
    // The copy the test command made is the only one; it is ours to delete.
    expect(statSync(join(scratch, 'key')).isFile()).toBe(true)
  })
})
