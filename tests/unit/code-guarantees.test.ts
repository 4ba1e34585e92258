// Guarantees the code keeps whatever a future change does: no command is a shell string built from
// inputs (the one documented exception is the user's test command, a shell command by definition),
// the SSH forward listens on 127.0.0.1 only, files that hold secrets are 0600 in 0700 directories,
// a port someone else holds is never used, and the README's "Reliability" section names the
// places the secrets file searches (its figures are what a run counted: readme-reliability.test.ts).
import { ESLint } from 'eslint'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createEphemeralKey } from '../../src/shared/key.js'
import { writeDropIn } from '../../src/setup/setup-config.js'
import { Secrets } from '../../src/shared/secrets.js'
import { freePort, qemuArgs } from '../../src/vm/qemu.js'
import { SECRET_PLACES } from '../e2e/hardening-cases.js'
import { REPO_ROOT } from '../helpers/action-runner.js'
import { SRC, sourceFiles } from '../helpers/source-files.js'

/** The one place a shell gets a string: the test-command input, run on the host by design. */
const SHELL_RUNNER = 'src/vm/test-command.ts'
/** The one process runner: every spawn in src/ goes through it. */
const PROCESS_RUNNER = 'src/shared/process.ts'

const scratch: string[] = []
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'code-guarantees-'))
  scratch.push(dir)
  return dir
}

describe('commands are argument arrays, never shell strings', () => {
  const files = sourceFiles().map(path => ({
    path: relative(REPO_ROOT, path),
    text: readFileSync(path, 'utf8')
  }))

  it('src/ has sources to check', () => {
    expect(files.length).toBeGreaterThan(20)
    expect(files.map(f => f.path)).toContain(SHELL_RUNNER)
  })

  it.each([
    [
      'child_process exec or execSync imported',
      /import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*'(node:)?child_process'/
    ],
    ['execSync or execFileSync called', /\bexec(File)?Sync\s*\(/],
    ['child process with shell: true', /\bshell\s*:\s*true\b/],
    ['shell string in a literal (bash -c / sh -c)', /['"`](\/bin\/)?(ba)?sh -c\b/],
    ['shell given -c', /['"](\/bin\/)?(ba|z|da)?sh['"]\s*,\s*\[\s*['"]-c['"]/]
  ])('no %s outside the test-command runner', (_, pattern) => {
    const hits = files
      .filter(file => file.path !== SHELL_RUNNER && pattern.test(file.text))
      .map(file => file.path)
    expect(hits).toEqual([])
  })

  it('the test-command runner hands bash the input as ONE argument, in its own process group', () => {
    const text = files.find(file => file.path === SHELL_RUNNER)!.text
    expect(text).toMatch(/run\('bash', \['-c', options\.command\]/)
    // The runner starts every child in a group of its own (tests/unit/shared/process.test.ts ends one).
    expect(files.find(file => file.path === PROCESS_RUNNER)!.text).toMatch(/detached: true/)
  })

  it('every child process starts in the one runner', () => {
    const spawning = files
      .filter(file => /from '(node:)?child_process'/.test(file.text))
      .map(file => file.path)
    expect(spawning).toEqual([PROCESS_RUNNER])
  })

  it('eslint refuses exec and execSync from child_process in src/', async () => {
    const eslint = new ESLint({ cwd: REPO_ROOT })
    const [result] = await eslint.lintText(
      [
        "import { exec, execSync } from 'node:child_process'",
        "import * as cp from 'node:child_process'",
        'export const a = exec',
        'export const b = execSync',
        "export const c = cp.execSync('ls')"
      ].join('\n'),
      { filePath: join(SRC, 'hardening-probe.ts') }
    )
    const rules = result.messages.map(message => message.ruleId)
    expect(rules).toContain('no-restricted-imports')
    expect(rules).toContain('no-restricted-properties')
  })
})

describe('the SSH forward', () => {
  it('listens on 127.0.0.1 only, under either firmware', () => {
    for (const firmware of ['bios', 'uefi'] as const) {
      const args = qemuArgs({
        arch: 'x86_64',
        accel: 'tcg',
        memoryMiB: 512,
        cpus: 1,
        iso: '/nix/store/x-image.iso/iso/image.iso',
        firmware,
        ovmfCode: '/usr/share/OVMF/OVMF_CODE_4M.fd',
        ovmfVars: '/tmp/OVMF_VARS.fd',
        sshPort: 40022,
        serialLog: '/tmp/serial.log',
        qmpSocket: '/tmp/qmp.sock'
      }).join(' ')
      expect(args).toContain('hostfwd=tcp:127.0.0.1:40022-:22')
      expect(args.match(/hostfwd=/g)).toHaveLength(1)
    }
  })

  it('never picks a port another process holds', async () => {
    const held: Server[] = []
    try {
      for (let i = 0; i < 20; i++) {
        const server = createServer()
        await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
        held.push(server)
      }
      const taken = new Set(held.map(server => (server.address() as { port: number }).port))
      for (let i = 0; i < 50; i++) expect(taken.has(await freePort())).toBe(false)
    } finally {
      await Promise.all(held.map(server => new Promise(resolve => server.close(resolve))))
    }
  })
})

describe('files that hold secrets', () => {
  const mode = (path: string): number => statSync(path).mode & 0o777

  it('the ephemeral key: 0600 files in a 0700 directory', () => {
    const key = createEphemeralKey(tempDir())
    expect(mode(key.dir)).toBe(0o700)
    expect(mode(key.privateKeyPath)).toBe(0o600)
    expect(mode(key.publicKeyPath)).toBe(0o600)
  })

  it('the access-token file: 0600 in a 0700 directory, even under a permissive umask', async () => {
    const dir = join(tempDir(), 'nix')
    const previous = process.umask(0o000)
    try {
      const dropIn = await writeDropIn({
        dir,
        extraNixConf: [],
        githubToken: 'ghs_CodeGuaranteeToken000000000000000000',
        kvm: false,
        env: {},
        secrets: new Secrets()
      })
      expect(dropIn.tokenPath).toBeDefined()
      expect(mode(dir)).toBe(0o700)
      expect(mode(dropIn.tokenPath!)).toBe(0o600)
      expect(readFileSync(dropIn.confPath, 'utf8')).not.toContain('ghs_CodeGuaranteeToken')
    } finally {
      process.umask(previous)
    }
  })
})

describe('the README reports the hardening suite', () => {
  // Its figures are what the last run counted, not these tables: readme-reliability.test.ts.
  it('"Reliability" names as many places searched for secrets as the suite searches', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
    const section = /^## Reliability\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1]
    expect(section, 'a "## Reliability" section').toBeDefined()
    expect(section).toContain(`${SECRET_PLACES.length} places`)
  })
})
