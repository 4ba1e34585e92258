// A local fake of GitHub's results service: the Twirp JSON API behind @actions/artifact (v2+) and
// @actions/cache (cache service v2), and the Azure-style block-blob storage its signed URLs point
// at. The real clients run against it unchanged (docs: /work/shared/notes/actions-runtime.md).
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inflateRawSync } from 'node:zlib'

export interface FaultOptions {
  /** Every request (Twirp and blob) answers with this HTTP status. */
  failAll?: number
  /** The first N requests answer 500, later ones work (the clients retry 5xx). */
  failFirst?: number
  /** Requests are accepted and never answered. */
  hang?: boolean
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
  /** Changes the injected faults from now on (the failFirst count restarts). */
  setFaults(faults: FaultOptions): void
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

/** An unsigned (alg: none) runtime token whose scp claim names the run and job backend IDs. */
export function runtimeToken(ids: { runBackendId?: string; jobBackendId?: string } = {}): string {
  const run = ids.runBackendId ?? 'b3a8c0f4-1c9e-4d4e-9a57-0f6c2b1d7e11'
  const job = ids.jobBackendId ?? '5d0e6f2a-8b47-4c1a-b2f9-3e7d9c4a6b22'
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const claims = {
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${run}:${job}`,
    iat: now,
    exp: now + 6 * 3600
  }
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`
}

/** The run and job backend IDs of a runtime token, or undefined when it names none. */
function tokenIds(authorization: string | undefined): { run: string; job: string } | undefined {
  const token = authorization?.replace(/^Bearer\s+/i, '') ?? ''
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      scp?: string
    }
    for (const scope of claims.scp?.split(' ') ?? []) {
      const [name, run, job] = scope.split(':')
      if (name === 'Actions.Results' && run && job) return { run, job }
    }
  } catch {
    // not a JWT: the caller decides
  }
  return undefined
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

interface Blob {
  sig: string
  contentType: string
  blocks: Map<string, Buffer>
  data?: Buffer
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

export async function startFakeResultsService(
  options: FaultOptions = {}
): Promise<FakeResultsService> {
  let faults: FaultOptions = { ...options }
  let failuresLeft = faults.failFirst ?? 0
  const artifacts: FakeArtifact[] = []
  const pendingArtifacts: Omit<FakeArtifact, 'zip' | 'size' | 'files'>[] = []
  const artifactBlobs = new Map<number, string>()
  const caches: FakeCacheEntry[] = []
  const cacheBlobs = new Map<number, string>()
  const pendingCaches: { id: number; key: string; version: string; blob: string }[] = []
  const blobs = new Map<string, Blob>()
  const calls: FakeCall[] = []
  let nextId = 1
  let origin = ''

  const newBlob = (prefix: string, contentType: string): string => {
    const path = `/devstoreaccount1/${prefix}/${randomBytes(8).toString('hex')}`
    blobs.set(path, { sig: randomBytes(12).toString('base64url'), contentType, blocks: new Map() })
    return path
  }
  const signedUrl = (path: string): string => {
    const blob = blobs.get(path)!
    const expiry = new Date(Date.now() + 3600_000).toISOString()
    return `${origin}${path}?sv=2023-11-03&se=${encodeURIComponent(expiry)}&sr=b&sp=rcw&sig=${blob.sig}`
  }

  type Body = Record<string, unknown>
  const str = (body: Body, field: string): string => {
    const value = body[field]
    if (typeof value !== 'string' || value === '') {
      throw new TwirpError(400, `${field} is required`)
    }
    return value
  }
  const checkIds = (body: Body, ids: { run: string; job: string } | undefined): void => {
    const run = str(body, 'workflow_run_backend_id')
    const job = str(body, 'workflow_job_run_backend_id')
    if (ids && (ids.run !== run || ids.job !== job)) {
      throw new TwirpError(403, 'the backend IDs do not match the runtime token')
    }
  }

  const artifactService: Record<string, (body: Body, ids?: { run: string; job: string }) => Body> =
    {
      CreateArtifact(body, ids) {
        checkIds(body, ids)
        const run = str(body, 'workflow_run_backend_id')
        const name = str(body, 'name')
        if (body.version !== 7) throw new TwirpError(400, `unsupported version ${body.version}`)
        const all = [...artifacts, ...pendingArtifacts]
        if (all.some(a => a.runBackendId === run && a.name === name)) {
          throw new TwirpError(409, 'an artifact with this name already exists on the workflow run')
        }
        const id = nextId++
        const mime = typeof body.mime_type === 'string' ? body.mime_type : 'application/zip'
        const blob = newBlob(`actions-results/${run}`, mime)
        artifactBlobs.set(id, blob)
        pendingArtifacts.push({
          id,
          name,
          runBackendId: run,
          jobBackendId: str(body, 'workflow_job_run_backend_id'),
          createdAt: new Date(),
          expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined
        })
        return { ok: true, signed_upload_url: signedUrl(blob) }
      },
      FinalizeArtifact(body, ids) {
        checkIds(body, ids)
        const run = str(body, 'workflow_run_backend_id')
        const name = str(body, 'name')
        const index = pendingArtifacts.findIndex(a => a.runBackendId === run && a.name === name)
        if (index < 0) throw new TwirpError(404, `no artifact named ${name} is being uploaded`)
        const pending = pendingArtifacts[index]
        const data = blobs.get(artifactBlobs.get(pending.id)!)!.data
        if (!data) throw new TwirpError(400, 'the artifact blob was never committed')
        if (Number(body.size) !== data.length) {
          throw new TwirpError(400, `size ${String(body.size)} != uploaded ${data.length} bytes`)
        }
        const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
        if (body.hash !== undefined && body.hash !== digest) {
          throw new TwirpError(400, `hash ${String(body.hash)} != uploaded ${digest}`)
        }
        pendingArtifacts.splice(index, 1)
        artifacts.push({
          ...pending,
          size: data.length,
          digest,
          zip: data,
          files: async () => unzip(data)
        })
        return { ok: true, artifact_id: String(pending.id) }
      },
      ListArtifacts(body, ids) {
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
      GetSignedArtifactURL(body, ids) {
        checkIds(body, ids)
        const name = str(body, 'name')
        const run = str(body, 'workflow_run_backend_id')
        const artifact = artifacts.find(a => a.runBackendId === run && a.name === name)
        if (!artifact) throw new TwirpError(404, `artifact ${name} not found`)
        return { signed_url: signedUrl(artifactBlobs.get(artifact.id)!) }
      },
      DeleteArtifact(body, ids) {
        checkIds(body, ids)
        const name = str(body, 'name')
        const run = str(body, 'workflow_run_backend_id')
        const index = artifacts.findIndex(a => a.runBackendId === run && a.name === name)
        if (index < 0) throw new TwirpError(404, `artifact ${name} not found`)
        const [artifact] = artifacts.splice(index, 1)
        return { ok: true, artifact_id: String(artifact.id) }
      }
    }

  const cacheService: Record<string, (body: Body) => Body> = {
    CreateCacheEntry(body) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const all = [...caches, ...pendingCaches]
      if (all.some(c => c.key === key && c.version === version)) return { ok: false }
      const blob = newBlob('actions-cache', 'application/octet-stream')
      pendingCaches.push({ id: nextId++, key, version, blob })
      return { ok: true, signed_upload_url: signedUrl(blob) }
    },
    FinalizeCacheEntryUpload(body) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const index = pendingCaches.findIndex(c => c.key === key && c.version === version)
      if (index < 0) throw new TwirpError(404, `no cache entry ${key} is being uploaded`)
      const pending = pendingCaches[index]
      const data = blobs.get(pending.blob)!.data
      if (!data) throw new TwirpError(400, 'the cache blob was never uploaded')
      if (Number(body.size_bytes) !== data.length) {
        throw new TwirpError(400, `size_bytes ${String(body.size_bytes)} != ${data.length}`)
      }
      pendingCaches.splice(index, 1)
      caches.push({ id: pending.id, key, version, size: data.length, createdAt: new Date(), data })
      cacheBlobs.set(pending.id, pending.blob)
      return { ok: true, entry_id: String(pending.id) }
    },
    // GitHub's order: the exact key; then, for the key and each restore key in turn, the newest
    // entry whose key starts with it. Only entries of the same version (paths + compression) match.
    GetCacheEntryDownloadURL(body) {
      const key = str(body, 'key')
      const version = str(body, 'version')
      const restoreKeys = Array.isArray(body.restore_keys) ? (body.restore_keys as string[]) : []
      const candidates = caches.filter(c => c.version === version)
      const newest = (prefix: string): FakeCacheEntry | undefined =>
        candidates.filter(c => c.key.startsWith(prefix)).sort((a, b) => b.id - a.id)[0]
      let hit = candidates.find(c => c.key === key)
      for (const prefix of [key, ...restoreKeys]) hit ??= newest(prefix)
      if (!hit) return { ok: false }
      return {
        ok: true,
        signed_download_url: signedUrl(cacheBlobs.get(hit.id)!),
        matched_key: hit.key
      }
    }
  }
  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => resolve(Buffer.concat(chunks)))
      req.on('error', reject)
    })
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
  }
  const twirpError = (res: ServerResponse, status: number, msg: string): void =>
    json(res, status, { code: TWIRP_CODES[status] ?? 'unknown', msg })
  const blobError = (res: ServerResponse, status: number, code: string, message: string): void => {
    res.writeHead(status, { 'Content-Type': 'application/xml', 'x-ms-error-code': code })
    res.end(
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code>` +
        `<Message>${message}</Message></Error>`
    )
  }

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
    if (fail((status, msg) => twirpError(res, status, msg))) return
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      return twirpError(res, 401, 'no bearer token')
    }
    const handler =
      service === 'ArtifactService'
        ? artifactService[method]
        : service === 'CacheService'
          ? cacheService[method]
          : undefined
    if (!handler) return twirpError(res, 404, `no handler for ${path}`)
    try {
      json(res, 200, handler(body, tokenIds(req.headers.authorization)))
    } catch (error) {
      if (error instanceof TwirpError) return twirpError(res, error.status, error.message)
      throw error
    }
  }

  async function handleBlob(req: IncomingMessage, res: ServerResponse, url: URL) {
    const blob = blobs.get(url.pathname)
    const comp = url.searchParams.get('comp')
    const raw = req.method === 'PUT' ? await readBody(req) : Buffer.alloc(0)
    const method =
      req.method === 'PUT'
        ? comp === 'block'
          ? 'PutBlock'
          : comp === 'blocklist'
            ? 'PutBlockList'
            : 'PutBlob'
        : 'GetBlob'
    calls.push({ method, service: 'blob', body: { path: url.pathname, bytes: raw.length } })
    if (fail((status, msg) => blobError(res, status, 'InternalError', msg))) return
    if (!blob) return blobError(res, 404, 'BlobNotFound', 'The specified blob does not exist.')
    if (url.searchParams.get('sig') !== blob.sig) {
      return blobError(res, 403, 'AuthenticationFailed', 'Signature did not match.')
    }
    const created = (): void => {
      res.writeHead(201, {
        ETag: `"0x${randomBytes(8).toString('hex')}"`,
        'x-ms-request-server-encrypted': 'true',
        'Last-Modified': new Date().toUTCString()
      })
      res.end()
    }
    if (method === 'PutBlock') {
      const id = url.searchParams.get('blockid')
      if (!id) return blobError(res, 400, 'InvalidQueryParameterValue', 'blockid is missing')
      blob.blocks.set(id, raw)
      return created()
    }
    if (method === 'PutBlockList') {
      const ids = [...raw.toString('utf8').matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)</g)]
      const parts = ids.map(match => blob.blocks.get(match[2]))
      if (parts.some(part => !part)) {
        return blobError(res, 400, 'InvalidBlockList', 'The specified block list is invalid.')
      }
      blob.data = Buffer.concat(parts as Buffer[])
      blob.blocks.clear()
      const contentType = req.headers['x-ms-blob-content-type']
      if (typeof contentType === 'string') blob.contentType = contentType
      return created()
    }
    if (method === 'PutBlob') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        return blobError(res, 400, 'MissingRequiredHeader', 'x-ms-blob-type must be BlockBlob')
      }
      blob.data = raw
      return created()
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return blobError(res, 405, 'UnsupportedHttpVerb', `${req.method} is not supported`)
    }
    if (!blob.data) return blobError(res, 404, 'BlobNotFound', 'The blob has no committed data.')
    let data = blob.data
    let status = 200
    const range = /bytes=(\d+)-(\d*)/.exec(String(req.headers['x-ms-range'] ?? req.headers.range))
    const headers: Record<string, string | number> = {
      'Content-Type': blob.contentType,
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'Last-Modified': new Date().toUTCString()
    }
    if (range) {
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1
      headers['Content-Range'] = `bytes ${range[1]}-${end}/${data.length}`
      data = data.subarray(Number(range[1]), end + 1)
      status = 206
    }
    headers['Content-Length'] = data.length
    res.writeHead(status, headers)
    res.end(req.method === 'HEAD' ? undefined : data)
  }

  /** Applies the injected faults; true when the request was answered (or left hanging). */
  function fail(answer: (status: number, msg: string) => void): boolean {
    if (faults.hang) return true
    if (faults.failAll) {
      answer(faults.failAll, `injected failure (${faults.failAll} on every call)`)
      return true
    }
    if (failuresLeft > 0) {
      failuresLeft--
      answer(500, 'injected failure (the first calls fail)')
      return true
    }
    return false
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin)
    const handled =
      req.method === 'POST' && url.pathname.startsWith(TWIRP_PREFIX)
        ? handleTwirp(req, res, url.pathname)
        : handleBlob(req, res, url)
    handled.catch((error: unknown) => {
      if (!res.headersSent) twirpError(res, 500, `fake results service: ${String(error)}`)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: `${origin}/`,
    artifacts,
    caches,
    calls,
    setFaults(next) {
      faults = { ...next }
      failuresLeft = faults.failFirst ?? 0
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
