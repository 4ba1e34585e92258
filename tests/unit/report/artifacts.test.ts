// uploadReport against the fake results service, with the real @actions/artifact client.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { consoleLog } from '../../../src/shared/log.js'
import {
  artifactNameCandidates,
  scanForSecrets,
  uploadReport
} from '../../../src/report/artifacts.js'
import { Secrets } from '../../../src/shared/secrets.js'
import {
  clientEnv,
  runtimeToken,
  setClientEnv,
  startFakeResultsService,
  type FakeResultsService
} from '../../helpers/fake-results-service.js'

const SECRET = 'ghs_s3cr3tT0kenValue0123456789'
let dir: string
let reportDir: string
let fake: FakeResultsService | undefined
let restoreEnv: (() => void)[] = []
let lines: string[]
const log = consoleLog(line => lines.push(line))

const ENV: Record<string, string | undefined> = {
  GITHUB_SERVER_URL: undefined,
  GITHUB_REPOSITORY: 'octo-org/images',
  GITHUB_RUN_ID: '4242',
  GITHUB_JOB: 'build',
  GITHUB_ACTION: '__boot',
  GITHUB_RETENTION_DAYS: undefined,
  ACTIONS_CACHE_SERVICE_V2: 'true'
}

async function start(options?: Parameters<typeof startFakeResultsService>[0]) {
  fake = await startFakeResultsService(options)
  restoreEnv.push(setClientEnv(clientEnv(fake)))
  return fake
}

function secrets(...values: string[]): Secrets {
  const s = new Secrets()
  for (const value of values) s.add(value)
  return s
}

async function plant(files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(reportDir, name, '..'), { recursive: true })
    await writeFile(join(reportDir, name), content)
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifacts-test-'))
  reportDir = join(dir, 'report')
  await mkdir(reportDir)
  lines = []
  restoreEnv = [
    setClientEnv({ ...ENV, ACTIONS_RUNTIME_TOKEN: undefined, ACTIONS_RESULTS_URL: undefined })
  ]
})

afterEach(async () => {
  for (const restore of restoreEnv.reverse()) restore()
  await fake?.close()
  fake = undefined
  await rm(dir, { recursive: true, force: true })
})

describe('uploadReport', () => {
  it('uploads every file of the report and returns the id and the artifact page', async () => {
    const service = await start()
    const png = randomBytes(4096)
    await plant({
      'report.json': '{"result":"passed"}',
      'summary.md': '# passed',
      'vm/serial.log': 'login: root\n',
      'vm/screenshots/ready.png': png
    })

    const result = await uploadReport({
      reportDir,
      name: 'boot-image-vm-logs',
      retentionDays: 5,
      secrets: secrets(SECRET),
      log
    })

    const artifact = service.artifacts[0]
    expect(result).toEqual({
      status: 'uploaded',
      artifactId: artifact.id,
      artifactUrl: `https://github.com/octo-org/images/actions/runs/4242/artifacts/${artifact.id}`,
      detail: expect.stringContaining('4 files'),
      withheld: [],
      name: 'boot-image-vm-logs'
    })
    expect(artifact.name).toBe('boot-image-vm-logs')
    const files = await artifact.files()
    expect(Object.keys(files).sort()).toEqual([
      'report.json',
      'summary.md',
      'vm/screenshots/ready.png',
      'vm/serial.log'
    ])
    expect(files['vm/screenshots/ready.png'].equals(png)).toBe(true)
    expect(files['vm/serial.log'].toString()).toBe('login: root\n')
    expect(artifact.expiresAt).toBeDefined()
    expect(lines.filter(line => line.startsWith('warning'))).toEqual([])
  })

  it('withholds and deletes a file holding a secret, and says so without the secret', async () => {
    const service = await start()
    // The secret straddles the read stream's 64 KiB chunk boundary in the big file.
    const big = Buffer.concat([Buffer.alloc(65_530, 'a'), Buffer.from(SECRET), Buffer.alloc(10)])
    await plant({
      'report.json': '{}',
      'probes/env.txt': `HOME=/root\nGITHUB_TOKEN=${SECRET}\n`,
      'vm/serial.log': big,
      'vm/clean.log': 'nothing to see'
    })

    const result = await uploadReport({
      reportDir,
      name: 'logs',
      secrets: secrets(SECRET),
      log
    })

    expect(result.status).toBe('uploaded')
    expect(result.withheld).toEqual(['probes/env.txt', 'vm/serial.log'])
    expect(result.detail).toContain('2 files withheld')
    expect(existsSync(join(reportDir, 'probes/env.txt'))).toBe(false)
    expect(existsSync(join(reportDir, 'vm/serial.log'))).toBe(false)
    expect(await readFile(join(reportDir, 'vm/clean.log'), 'utf8')).toBe('nothing to see')
    expect(Object.keys(await service.artifacts[0].files()).sort()).toEqual([
      'report.json',
      'vm/clean.log'
    ])
    const warnings = lines.filter(line => line.startsWith('warning'))
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatch(/Report file withheld: probes\/env\.txt was withheld .*secret/)
    expect(lines.join('\n')).not.toContain(SECRET)
  })

  it('uploads only what is inside the report: links out of it are left out unread', async () => {
    const service = await start()
    const outside = join(dir, 'id_ed25519')
    await writeFile(outside, `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n`)
    await plant({ 'report.json': '{}', 'probes/key.txt': `${SECRET}\n` })
    await symlink(outside, join(reportDir, 'key'))
    await symlink(join(dir, 'missing'), join(reportDir, 'dangling'))
    await symlink(dir, join(reportDir, 'loop'))
    await symlink(join(reportDir, 'report.json'), join(reportDir, 'same.json'))
    await symlink(join(reportDir, 'probes/key.txt'), join(reportDir, 'inner-key'))

    const result = await uploadReport({ reportDir, name: 'logs', secrets: secrets(SECRET), log })

    expect(result.status).toBe('uploaded')
    // A link inside the report is scanned like the file it points at.
    expect(result.withheld.sort()).toEqual(['inner-key', 'probes/key.txt'])
    expect(existsSync(outside)).toBe(true) // never deleted, never read
    expect(Object.keys(await service.artifacts[0].files()).sort()).toEqual([
      'report.json',
      'same.json'
    ])
    expect(lines.join('\n')).toMatch(
      /Left out .*dangling \(broken symlink\).*key \(link out of the report\).*loop \(link out of the report\)/
    )
  })

  it('skips the upload when nothing is left to upload', async () => {
    const service = await start()
    await plant({ 'only.txt': SECRET })

    const result = await uploadReport({ reportDir, name: 'logs', secrets: secrets(SECRET), log })

    expect(result).toEqual({
      status: 'skipped',
      detail: 'no files to upload; 1 file withheld (secret)',
      withheld: ['only.txt']
    })
    expect(service.calls).toHaveLength(0)
  })

  it('gives status failed, never throwing, when the service answers 500 to every call', async () => {
    const service = await start({ failAll: 500 })
    await plant({ 'report.json': '{}' })

    const result = await uploadReport({
      reportDir,
      name: 'logs',
      secrets: secrets(SECRET),
      log,
      timeoutMs: 40_000
    })

    expect(result.status).toBe('failed')
    // Past the bound the message says how long it tried (the client's 5 attempts take 25-35 s,
    // so the bound ends either between whole-upload attempts or during the second one).
    expect(result.detail).toMatch(
      /^upload failed: (.*500.*tried \d+ times? over \d+ s, up to the 40 s bound|.*within 40 s)/
    )
    expect(result.artifactId).toBeUndefined()
    expect(lines.join('\n')).toMatch(/warning: Report upload failed: The report was not uploaded/)
    expect(service.calls.filter(c => c.method === 'CreateArtifact').length).toBeGreaterThanOrEqual(
      5
    )
  }, 90_000)

  it('gives up on a service that never answers within the bound', async () => {
    await start({ hang: true })
    await plant({ 'report.json': '{}' })

    const result = await uploadReport({
      reportDir,
      name: 'logs',
      secrets: secrets(),
      log,
      timeoutMs: 1500
    })

    expect(result).toMatchObject({
      status: 'failed',
      detail: 'upload failed: the results service did not finish the upload within 2 s'
    })
  })

  it('fails cleanly without the runtime variables', async () => {
    await plant({ 'report.json': '{}' })

    const result = await uploadReport({ reportDir, name: 'logs', secrets: secrets(), log })

    expect(result.status).toBe('failed')
    expect(result.detail).toContain('ACTIONS_RUNTIME_TOKEN')
  })

  it('renames on a name collision: job and step, then the job run', async () => {
    const service = await start()
    await plant({ 'report.json': '{}' })
    const upload = () => uploadReport({ reportDir, name: 'logs', secrets: secrets(), log })

    const results = [await upload(), await upload(), await upload(), await upload()]

    const names = service.artifacts.map(a => a.name)
    expect(names).toHaveLength(3)
    expect(names[0]).toBe('logs')
    expect(names[1]).toBe('logs-build-boot')
    expect(names[2]).toMatch(/^logs-build-boot-[0-9a-f]{6}$/)
    expect(results.map(r => r.status)).toEqual(['uploaded', 'uploaded', 'uploaded', 'failed'])
    expect(results[1].detail).toContain('"logs-build-boot"')
    expect(results[3].detail).toMatch(/409/)
  })
})

describe('artifactNameCandidates', () => {
  it('tells matrix legs apart by the job run in the runtime token', () => {
    const env = (job: string) => ({
      GITHUB_JOB: 'test',
      GITHUB_ACTION: 'vm',
      ACTIONS_RUNTIME_TOKEN: runtimeToken({ jobBackendId: job })
    })
    const a = artifactNameCandidates('logs', env('job-a'))
    const b = artifactNameCandidates('logs', env('job-b'))
    expect(a.slice(0, 2)).toEqual(['logs', 'logs-test-vm'])
    expect(a).toEqual(artifactNameCandidates('logs', env('job-a')))
    expect(a[2]).not.toBe(b[2])
  })

  it('keeps only characters an artifact name may hold', () => {
    const [, second] = artifactNameCandidates('logs', { GITHUB_JOB: 'a/b', GITHUB_ACTION: '__x:y' })
    expect(second).toBe('logs-a-b-x-y')
  })
})

describe('scanForSecrets', () => {
  it('names the files holding a secret and changes nothing', async () => {
    await plant({ 'a.txt': `x${SECRET}x`, 'b/c.txt': 'clean', [`d-${SECRET}.txt`]: 'clean' })

    expect(await scanForSecrets(reportDir, secrets(SECRET))).toEqual(['a.txt', `d-${SECRET}.txt`])
    expect(await scanForSecrets(reportDir, secrets())).toEqual([])
    expect(existsSync(join(reportDir, 'a.txt'))).toBe(true)
  })
})
