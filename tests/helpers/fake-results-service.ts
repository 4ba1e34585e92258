// A local fake of GitHub's results service: the Twirp JSON API behind @actions/artifact (v2+) and
// @actions/cache (cache service v2), checking what GitHub checks (the runtime token's signature,
// expiry, backend IDs and cache scopes), and the block-blob storage its signed URLs point at:
// by default a small in-memory store on http://127.0.0.1 (for clients in the test's own process);
// with `blobStore: 'azurite'`, Azurite behind https://devstoreaccount1.blob.core.windows.net
// (azure-blob-endpoint.ts), so a child process's clients take GitHub's code paths — give that
// child `service.childEnv` (runAction does). The e2e tests start it with Azurite
// (tests/helpers/e2e.ts startResultsService). The real clients run against it unchanged
// (docs: /work/shared/notes/actions-runtime.md).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateRawSync } from 'node:zlib'
import {
  startAzureBlobEndpoint,
  type AzureBlobEndpoint,
  type BlobRequest
} from './azure-blob-endpoint.js'
import { azuriteBlobStore, readBody, startMemoryBlobStore, type BlobStore } from './blob-stores.js'

export interface FaultOptions {
  /** Every request (Twirp and blob) answers with this HTTP status. */
  failAll?: number
  /** The first N requests answer `status` (500 unless given), later ones work. */
  failFirst?: number
  /** The status of the failFirst answers (429: rate limited). */
  status?: number
  /** Seconds sent as Retry-After with the failFirst answers. */
  retryAfter?: number
  /** The faults above touch only this service's requests; the others work. */
  only?: FakeCall['service']
  /** Requests are accepted and never answered. */
  hang?: boolean
  /** CreateArtifact and CreateCacheEntry answer that the storage quota is used up. */
  quotaExceeded?: boolean
  /** Blob writes: the first `after` work, the next `count` answer 500 InternalError. */
  storageErrors?: { after: number; count: number }
  /** Ranged blob GETs: the first N are answered, later ones never (a download that stalls). */
  stallDownloadAfter?: number
}

export interface StartOptions extends FaultOptions {
  /** 'memory' (default): http://127.0.0.1; 'azurite': Azurite as *.blob.core.windows.net over TLS. */
  blobStore?: 'memory' | 'azurite'
}

export interface FakeArtifact {
  id: number
  name: string
  runBackendId: string
  jobBackendId: string
  /** Bytes of the zip as uploaded. */
  size: number
  digest?: string
  createdAt: Date
  expiresAt?: string
  zip: Buffer
  /** The zip's files, unzipped, by their path inside the artifact. */
  files(): Promise<Record<string, Buffer>>
}

export interface FakeCacheEntry {
  id: number
  key: string
  version: string
  size: number
  createdAt: Date
  data: Buffer
}

export interface FakeCall {
  /** Twirp method (CreateArtifact, …) or blob operation (PutBlock, PutBlockList, PutBlob, GetBlob). */
  method: string
  service: 'ArtifactService' | 'CacheService' | 'blob'
  body: unknown
}

export interface FakeResultsService {
  /** Give it to the clients as ACTIONS_RESULTS_URL. */
  url: string
  /** Finalized artifacts, in creation order. */
  artifacts: FakeArtifact[]
  /** Finalized cache entries, in creation order. */
  caches: FakeCacheEntry[]
  calls: FakeCall[]
  /** Changes the injected faults from now on (the failFirst and storage counts restart). */
  setFaults(faults: FaultOptions): void
  /** For blobStore 'azurite': what a child Node process needs to reach the blobs; else {}. */
  childEnv: Record<string, string>
  /** For blobStore 'azurite': the blob endpoint (its request log, Azurite's own log). */
  azure?: AzureBlobEndpoint
  /** Test set-up: makes (or replaces) the cache entry key+version holding data. */
  seedCache(entry: { key: string; version: string; data: Buffer }): Promise<void>
  close(): Promise<void>
}

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.'
const TWIRP_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  409: 'already_exists',
  429: 'resource_exhausted',
  500: 'internal',
  501: 'unimplemented',
  503: 'unavailable'
}

/** The key the fake signs runtime tokens with (GitHub's is its own; the clients never check). */
const TOKEN_KEY = Buffer.from('boot-image-vm fake results service token key')

/** A cache scope of the token's `ac` claim: Permission 1 reads, 2 writes, 3 both. */
export interface CacheScope {
  Scope: string
  Permission: number
}

export interface TokenOptions {
  runBackendId?: string
  jobBackendId?: string
  /** Seconds until it expires (negative: already expired). Default 6 hours, as GitHub's. */
  expiresIn?: number
  /** The `ac` claim. Default: read and write on refs/heads/main. */
  cacheScopes?: CacheScope[]
  /** Signed with another key: the service must refuse it. */
  forged?: boolean
}

/** A runtime token (HS256 JWT) whose scp claim names the run and job backend IDs. */
export function runtimeToken(options: TokenOptions = {}): string {
  const run = options.runBackendId ?? 'b3a8c0f4-1c9e-4d4e-9a57-0f6c2b1d7e11'
  const job = options.jobBackendId ?? '5d0e6f2a-8b47-4c1a-b2f9-3e7d9c4a6b22'
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${run}:${job}`,
    ac: JSON.stringify(options.cacheScopes ?? [{ Scope: 'refs/heads/main', Permission: 3 }]),
    iat: now,
    exp: now + (options.expiresIn ?? 6 * 3600)
  }
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`
  const key = options.forged ? randomBytes(32) : TOKEN_KEY
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}

interface TokenClaims {
  ids?: { run: string; job: string }
  scopes: CacheScope[]
}

/** The token's claims once its signature and expiry are checked; a 401 TwirpError otherwise. */
function verifyToken(authorization: string | undefined): TokenClaims {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
  if (!token) throw new TwirpError(401, 'no bearer token')
  const [header, payload, signature] = token.split('.')
  const expected = createHmac('sha256', TOKEN_KEY).update(`${header}.${payload}`).digest()
  const given = Buffer.from(signature ?? '', 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TwirpError(401, 'the token signature is invalid')
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
    scp?: string
    ac?: string
    exp?: number
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) {
    throw new TwirpError(401, 'the token has expired')
  }
  let ids: TokenClaims['ids']
  for (const scope of claims.scp?.split(' ') ?? []) {
    const [name, run, job] = scope.split(':')
    if (name === 'Actions.Results' && run && job) ids = { run, job }
  }
  const scopes = claims.ac ? (JSON.parse(claims.ac) as CacheScope[]) : []
  return { ids, scopes }
}

/** The files of a zip archive (central directory, stored or deflated entries; no zip64). */
/**
 * Sets (or, for undefined, removes) process.env variables for the clients running in this process;
 * returns the function that puts every one back.
 */
export function setClientEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map(name => [name, process.env[name]]))
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
  apply(vars)
  return () => apply(saved)
}

/** What the in-process clients need to reach the fake (the cache client's v2 protocol included). */
export function clientEnv(service: FakeResultsService): Record<string, string> {
  return {
    ACTIONS_RUNTIME_TOKEN: runtimeToken(),
    ACTIONS_RESULTS_URL: service.url,
    ACTIONS_CACHE_SERVICE_V2: 'true'
  }
}

export function unzip(zip: Buffer): Record<string, Buffer> {
  let eocd = -1
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory record')
  const count = zip.readUInt16LE(eocd + 10)
  let offset = zip.readUInt32LE(eocd + 16)
  if (offset === 0xffffffff) throw new Error('zip64 archives are not supported')
  const files: Record<string, Buffer> = {}
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory')
    const method = zip.readUInt16LE(offset + 10)
    const compressedSize = zip.readUInt32LE(offset + 20)
    const size = zip.readUInt32LE(offset + 24)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    const local = zip.readUInt32LE(offset + 42)
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength)
    offset += 46 + nameLength + extraLength + commentLength
    if (name.endsWith('/')) continue
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip entry ${name}`)
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
    const raw = zip.subarray(start, start + compressedSize)
    if (method !== 0 && method !== 8) throw new Error(`zip entry ${name}: method ${method}`)
    const data = method === 0 ? Buffer.from(raw) : inflateRawSync(raw)
    if (data.length !== size) throw new Error(`zip entry ${name}: size ${data.length} != ${size}`)
    files[name.replace(/^\/+/, '')] = data
  }
  return files
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

/** The message both clients recognise as "storage quota used up" (their UsageError). */
const QUOTA_MESSAGE =
  'insufficient usage to create artifact or cache entry: the storage quota is used up'

type Body = Record<string, unknown>

export async function startFakeResultsService(
  options: StartOptions = {}
): Promise<FakeResultsService> {
  let faults: FaultOptions = { ...options }
  let failuresLeft = faults.failFirst ?? 0
  let blobWrites = 0
  let rangedReads = 0
  const artifacts: FakeArtifact[] = []
  const pendingArtifacts: (Omit<FakeArtifact, 'zip' | 'size' | 'files'> & { blob: string })[] = []
  const artifactBlobs = new Map<number, string>()
  const caches: FakeCacheEntry[] = []
  const cacheBlobs = new Map<number, string>()
  const pendingCaches: { id: number; key: string; version: string; scope: string; blob: string }[] =
    []
  const cacheScopes = new Map<number, string>()
  const calls: FakeCall[] = []
  let nextId = 1

  /** Applies the injected faults to one request; the answer, or undefined to serve it. */
  function injected(service: FakeCall['service']): { status: number; hang?: true } | undefined {
    if (faults.only && faults.only !== service) return undefined
    if (faults.hang) return { status: 0, hang: true }
    if (faults.failAll) return { status: faults.failAll }
    if (failuresLeft > 0) {
      failuresLeft--
      return { status: faults.status ?? 500 }
    }
    return undefined
  }
  const blobFault = (request: BlobRequest): 'error' | 'stall' | undefined => {
    calls.push({
      method: request.op,
      service: 'blob',
      body: { path: request.path, range: request.range }
    })
    const fault = injected('blob')
    if (fault) return fault.hang ? 'stall' : 'error'
    if (request.op.startsWith('Put') && faults.storageErrors) {
      const { after, count } = faults.storageErrors
      blobWrites++
      if (blobWrites > after && blobWrites <= after + count) return 'error'
    }
    if (request.op === 'GetBlob' && request.range && faults.stallDownloadAfter !== undefined) {
      if (++rangedReads > faults.stallDownloadAfter) return 'stall'
    }
    return undefined
  }

  let scratch: string | undefined
  let azure: AzureBlobEndpoint | undefined
  let store: BlobStore
  if (options.blobStore === 'azurite') {
    scratch = mkdtempSync(join(tmpdir(), 'fake-azurite-'))
    azure = await startAzureBlobEndpoint(scratch, blobFault)
    store = azuriteBlobStore(azure)
  } else {
    store = await startMemoryBlobStore(blobFault)
  }

  const str = (body: Body, field: string): string => {
    const value = body[field]
    if (typeof value !== 'string' || value === '') {
      throw new TwirpError(400, `${field} is required`)
    }
    return value
  }
  const checkIds = (body: Body, ids: TokenClaims['ids']): void => {
    const run = str(body, 'workflow_run_backend_id')
    const job = str(body, 'workflow_job_run_backend_id')
    if (!ids) throw new TwirpError(403, 'the token has no Actions.Results scope')
    if (ids.run !== run || ids.job !== job) {
      throw new TwirpError(403, 'the backend IDs do not match the runtime token')
    }
  }
  /** The cache scope the token may use for access (1 read, 2 write): the first that allows it. */
  const cacheScope = (claims: TokenClaims, access: 1 | 2): string | undefined =>
    claims.scopes.find(scope => (scope.Permission & access) === access)?.Scope
  const readable = (claims: TokenClaims): Set<string> =>
    new Set(claims.scopes.filter(s => (s.Permission & 1) === 1).map(s => s.Scope))

  type Handler = (body: Body, claims: TokenClaims) => Promise<Body>
  const artifactService: Record<string, Handler> = {
    async CreateArtifact(body, { ids }) {
      checkIds(body, ids)
      const run = str(body, 'workflow_run_backend_id')
      const name = str(body, 'name')
      if (body.version !== 7) throw new TwirpError(400, `unsupported version ${body.version}`)
      if (faults.quotaExceeded) throw new TwirpError(403, QUOTA_MESSAGE)
      const all = [...artifacts, ...pendingArtifacts]
      if (all.some(a => a.runBackendId === run && a.name === name)) {
        throw new TwirpError(409, 'an artifact with this name already exists on the workflow run')
      }
      const id = nextId++
      const mime = typeof body.mime_type === 'string' ? body.mime_type : 'application/zip'
      const blob = await store.create('actions-results', mime)
      artifactBlobs.set(id, blob)
      pendingArtifacts.push({
        id,
        name,
        blob,
        runBackendId: run,
        jobBackendId: str(body, 'workflow_job_run_backend_id'),
        createdAt: new Date(),
        expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined
      })
      return { ok: true, signed_upload_url: await store.signedUrl(blob, 'write') }
    },
    async FinalizeArtifact(body, { ids }) {
      checkIds(body, ids)
      const run = str(body, 'workflow_run_backend_id')
      const name = str(body, 'name')
      const index = pendingArtifacts.findIndex(a => a.runBackendId === run && a.name === name)
      if (index < 0) throw new TwirpError(404, `no artifact named ${name} is being uploaded`)
      const entry = pendingArtifacts[index]
      const { blob, ...pending } = entry
      const data = await store.read(blob)
      if (!data) throw new TwirpError(400, 'the artifact blob was never committed')
      if (Number(body.size) !== data.length) {
        throw new TwirpError(400, `size ${String(body.size)} != uploaded ${data.length} bytes`)
      }
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
      if (body.hash !== undefined && body.hash !== digest) {
        throw new TwirpError(400, `hash ${String(body.hash)} != uploaded ${digest}`)
      }
      // By identity, not the index found before the read: other finalizes may have run meanwhile.
      const at = pendingArtifacts.indexOf(entry)
      if (at < 0) throw new TwirpError(404, `no artifact named ${name} is being uploaded`)
      pendingArtifacts.splice(at, 1)
      artifacts.push({
        ...pending,
        size: data.length,
        digest,
        zip: data,
        files: async () => unzip(data)
      })
      return { ok: true, artifact_id: String(pending.id) }
    },
    async ListArtifacts(body, { ids }) {
      checkIds(body, ids)
      const run = str(body, 'workflow_run_backend_id')
      const found = artifacts.filter(
        a =>
          a.runBackendId === run &&
          (body.name_filter === undefined || a.name === body.name_filter) &&
          (body.id_filter === undefined || String(a.id) === String(body.id_filter))
      )
      return {
        artifacts: found.map(a => ({
          workflow_run_backend_id: a.runBackendId,
          workflow_job_run_backend_id: a.jobBackendId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.size),
          created_at: a.createdAt.toISOString(),
          digest: a.digest
        }))
      }
    },
    async GetSignedArtifactURL(body, { ids }) {
      checkIds(body, ids)
      const name = str(body, 'name')
      const run = str(body, 'workflow_run_backend_id')
      const artifact = artifacts.find(a => a.runBackendId === run && a.name === name)
      if (!artifact) throw new TwirpError(404, `artifact ${name} not found`)
      return { signed_url: await store.signedUrl(artifactBlobs.get(artifact.id)!, 'read') }
    },
    async DeleteArtifact(body, { ids }) {
      checkIds(body, ids)
      const name = str(body, 'name')
      const run = str(body, 'workflow_run_backend_id')
      const index = artifacts.findIndex(a => a.runBackendId === run && a.name === name)
      if (index < 0) throw new TwirpError(404, `artifact ${name} not found`)
      const [artifact] = artifacts.splice(index, 1)
      return { ok: true, artifact_id: String(artifact.id) }
    }
  }

  const cacheService: Record<string, Handler> = {
    // Keys are immutable within a scope: a second create of key+version answers 409.
    async CreateCacheEntry(body, claims) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const scope = cacheScope(claims, 2)
      if (!scope)
        throw new TwirpError(403, 'cache write denied: the token has no writable cache scope')
      if (faults.quotaExceeded) throw new TwirpError(403, QUOTA_MESSAGE)
      const all = [...caches.map(c => ({ ...c, scope: cacheScopes.get(c.id) })), ...pendingCaches]
      if (all.some(c => c.key === key && c.version === version && c.scope === scope)) {
        throw new TwirpError(
          409,
          'cache entry with the same key, version, and scope already exists'
        )
      }
      const blob = await store.create('actions-cache', 'application/octet-stream')
      pendingCaches.push({ id: nextId++, key, version, scope, blob })
      return { ok: true, signed_upload_url: await store.signedUrl(blob, 'write') }
    },
    async FinalizeCacheEntryUpload(body, claims) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const scope = cacheScope(claims, 2)
      const index = pendingCaches.findIndex(
        c => c.key === key && c.version === version && c.scope === scope
      )
      if (index < 0) throw new TwirpError(404, `no cache entry ${key} is being uploaded`)
      const pending = pendingCaches[index]
      const data = await store.read(pending.blob)
      if (!data) throw new TwirpError(400, 'the cache blob was never uploaded')
      if (Number(body.size_bytes) !== data.length) {
        throw new TwirpError(400, `size_bytes ${String(body.size_bytes)} != ${data.length}`)
      }
      const at = pendingCaches.indexOf(pending)
      if (at < 0) throw new TwirpError(404, `no cache entry ${key} is being uploaded`)
      pendingCaches.splice(at, 1)
      caches.push({ id: pending.id, key, version, size: data.length, createdAt: new Date(), data })
      cacheBlobs.set(pending.id, pending.blob)
      cacheScopes.set(pending.id, pending.scope)
      return { ok: true, entry_id: String(pending.id) }
    },
    // GitHub's order: the exact key; then, for the key and each restore key in turn, the newest
    // entry whose key starts with it. Only entries of the same version (paths + compression) in a
    // scope the token may read match.
    async GetCacheEntryDownloadURL(body, claims) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const scopes = readable(claims)
      if (scopes.size === 0) {
        throw new TwirpError(403, 'cache read denied: the token has no readable cache scope')
      }
      const restoreKeys = Array.isArray(body.restore_keys) ? (body.restore_keys as string[]) : []
      const candidates = caches.filter(
        c => c.version === version && scopes.has(cacheScopes.get(c.id) ?? '')
      )
      const newest = (prefix: string): FakeCacheEntry | undefined =>
        candidates.filter(c => c.key.startsWith(prefix)).sort((a, b) => b.id - a.id)[0]
      let hit = candidates.find(c => c.key === key)
      for (const prefix of [key, ...restoreKeys]) hit ??= newest(prefix)
      if (!hit) return { ok: false }
      return {
        ok: true,
        signed_download_url: await store.signedUrl(cacheBlobs.get(hit.id)!, 'read'),
        matched_key: hit.key
      }
    }
  }

  const json = (res: ServerResponse, status: number, body: unknown, headers = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
  const twirpError = (res: ServerResponse, status: number, msg: string, headers = {}): void =>
    json(res, status, { code: TWIRP_CODES[status] ?? 'unknown', msg }, headers)

  async function handleTwirp(req: IncomingMessage, res: ServerResponse, path: string) {
    const [service, method] = path.slice(TWIRP_PREFIX.length).split('/')
    const raw = await readBody(req)
    let body: Body
    try {
      body = JSON.parse(raw.toString('utf8') || '{}') as Body
    } catch {
      return twirpError(res, 400, 'the request body is not JSON')
    }
    calls.push({ method, service: service as FakeCall['service'], body })
    const fault = injected(service as FakeCall['service'])
    if (fault?.hang) return
    if (fault) {
      const retryAfter = faults.retryAfter ? { 'Retry-After': String(faults.retryAfter) } : {}
      return twirpError(res, fault.status, `injected failure (${fault.status})`, retryAfter)
    }
    const handler =
      service === 'ArtifactService'
        ? artifactService[method]
        : service === 'CacheService'
          ? cacheService[method]
          : undefined
    try {
      const claims = verifyToken(req.headers.authorization)
      if (!handler) return twirpError(res, 404, `no handler for ${path}`)
      json(res, 200, await handler(body, claims))
    } catch (error) {
      if (error instanceof TwirpError) return twirpError(res, error.status, error.message)
      throw error
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const handled =
      req.method === 'POST' && url.pathname.startsWith(TWIRP_PREFIX)
        ? handleTwirp(req, res, url.pathname)
        : Promise.resolve(twirpError(res, 404, `not a Twirp call: ${url.pathname}`))
    handled.catch((error: unknown) => {
      if (!res.headersSent) twirpError(res, 500, `fake results service: ${String(error)}`)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: `${origin}/`,
    artifacts,
    caches,
    calls,
    childEnv: azure?.childEnv ?? {},
    azure,
    setFaults(next) {
      faults = { ...next }
      failuresLeft = faults.failFirst ?? 0
      blobWrites = 0
      rangedReads = 0
    },
    async seedCache({ key, version, data }) {
      const scope = 'refs/heads/main'
      for (let i = caches.length - 1; i >= 0; i--) {
        if (caches[i].key === key && caches[i].version === version) caches.splice(i, 1)
      }
      const blob = await store.create('actions-cache', 'application/octet-stream')
      await store.write(blob, data)
      const id = nextId++
      caches.push({ id, key, version, size: data.length, createdAt: new Date(), data })
      cacheBlobs.set(id, blob)
      cacheScopes.set(id, scope)
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await store.close()
      if (scratch) rmSync(scratch, { recursive: true, force: true })
    }
  }
}
