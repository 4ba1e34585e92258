// The fake results service's blob stores behind one interface: a small in-memory Azure-style
// block-blob server on http://127.0.0.1 (for clients in the test's own process, which cannot be
// given a CA or a name after they start), or Azurite as *.blob.core.windows.net over TLS
// (azure-blob-endpoint.ts). Both ask the same fault hook before answering a request.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AzureBlobEndpoint, BlobFault, BlobRequest } from './azure-blob-endpoint.js'

export interface BlobStore {
  /** A new, empty blob in container; returns its id. */
  create(container: string, contentType: string): Promise<string>
  /** A signed URL that may write (upload) or only read (download) the blob. */
  signedUrl(id: string, access: 'write' | 'read'): Promise<string>
  /** The committed bytes, or undefined when nothing was committed. */
  read(id: string): Promise<Buffer | undefined>
  write(id: string, data: Buffer): Promise<void>
  close(): Promise<void>
}

/** Azurite's blobs: id is `<container>/<blob>`. */
export function azuriteBlobStore(endpoint: AzureBlobEndpoint): BlobStore {
  const split = (id: string): [string, string] => {
    const slash = id.indexOf('/')
    return [id.slice(0, slash), id.slice(slash + 1)]
  }
  return {
    create: async container => `${container}/${randomBytes(8).toString('hex')}`,
    signedUrl: (id, access) => endpoint.signedUrl(...split(id), access === 'write' ? 'rcw' : 'r'),
    read: id => endpoint.read(...split(id)),
    write: (id, data) => endpoint.write(...split(id), data),
    close: () => endpoint.close()
  }
}

interface Blob {
  sig: string
  contentType: string
  blocks: Map<string, Buffer>
  data?: Buffer
}

/** The hand-written store: block staging, block lists in list order, ranged reads, signatures. */
export async function startMemoryBlobStore(fault: BlobFault): Promise<BlobStore> {
  const blobs = new Map<string, Blob>()
  let origin = ''
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) blobError(res, 500, 'InternalError', String(error))
    })
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin)
    const blob = blobs.get(url.pathname)
    const comp = url.searchParams.get('comp')
    const raw = req.method === 'PUT' ? await readBody(req) : Buffer.alloc(0)
    const range = req.headers['x-ms-range'] ?? req.headers.range
    const request: BlobRequest = {
      op:
        req.method === 'PUT'
          ? comp === 'block'
            ? 'PutBlock'
            : comp === 'blocklist'
              ? 'PutBlockList'
              : 'PutBlob'
          : req.method === 'HEAD'
            ? 'GetProperties'
            : 'GetBlob',
      path: url.pathname,
      ...(typeof range === 'string' ? { range } : {})
    }
    const injected = fault(request)
    if (injected === 'stall') return
    if (injected === 'error') return blobError(res, 500, 'InternalError', 'injected failure')
    if (!blob) return blobError(res, 404, 'BlobNotFound', 'The specified blob does not exist.')
    if (url.searchParams.get('sig') !== blob.sig) {
      return blobError(res, 403, 'AuthenticationFailed', 'Signature did not match.')
    }
    if (request.op === 'PutBlock') {
      const id = url.searchParams.get('blockid')
      if (!id) return blobError(res, 400, 'InvalidQueryParameterValue', 'blockid is missing')
      blob.blocks.set(id, raw)
      return created(res)
    }
    if (request.op === 'PutBlockList') {
      const ids = [...raw.toString('utf8').matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)</g)]
      const parts = ids.map(match => blob.blocks.get(match[2]))
      if (parts.some(part => !part)) {
        return blobError(res, 400, 'InvalidBlockList', 'The specified block list is invalid.')
      }
      blob.data = Buffer.concat(parts as Buffer[])
      blob.blocks.clear()
      const contentType = req.headers['x-ms-blob-content-type']
      if (typeof contentType === 'string') blob.contentType = contentType
      return created(res)
    }
    if (request.op === 'PutBlob') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        return blobError(res, 400, 'MissingRequiredHeader', 'x-ms-blob-type must be BlockBlob')
      }
      blob.data = raw
      return created(res)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return blobError(res, 405, 'UnsupportedHttpVerb', `${req.method} is not supported`)
    }
    if (!blob.data) return blobError(res, 404, 'BlobNotFound', 'The blob has no committed data.')
    serve(req, res, blob, blob.data)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    async create(container, contentType) {
      const path = `/devstoreaccount1/${container}/${randomBytes(8).toString('hex')}`
      blobs.set(path, {
        sig: randomBytes(12).toString('base64url'),
        contentType,
        blocks: new Map()
      })
      return path
    },
    async signedUrl(id, access) {
      const expiry = encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())
      const sp = access === 'write' ? 'rcw' : 'r'
      return `${origin}${id}?sv=2023-11-03&se=${expiry}&sr=b&sp=${sp}&sig=${blobs.get(id)!.sig}`
    },
    read: async id => blobs.get(id)?.data,
    async write(id, data) {
      blobs.get(id)!.data = data
    },
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function serve(req: IncomingMessage, res: ServerResponse, blob: Blob, all: Buffer): void {
  let data = all
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

function created(res: ServerResponse): void {
  res.writeHead(201, {
    ETag: `"0x${randomBytes(8).toString('hex')}"`,
    'x-ms-request-server-encrypted': 'true',
    'Last-Modified': new Date().toUTCString()
  })
  res.end()
}

function blobError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/xml', 'x-ms-error-code': code })
  res.end(
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code>` +
      `<Message>${message}</Message></Error>`
  )
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
