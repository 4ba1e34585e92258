// setupNix when no nix exists: 'auto' installs with the verified installer, then uses what it
// installed. The installer is a stand-in served locally that writes a fake nix.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { StageContext } from '../../../src/shared/context.js'
import { consoleLog } from '../../../src/shared/log.js'
import { INSTALLER_URL_ENV } from '../../../src/setup/install.js'
import { setupNix } from '../../../src/setup/stage.js'
import { Secrets } from '../../../src/shared/secrets.js'

const FAKE_NIX = `#!/bin/sh
case "$1" in
  --version) echo "nix (Nix) 2.35.2" ;;
  config) echo '{"experimental-features":{"value":["flakes","nix-command"]},"store":{"value":"auto"}}' ;;
  *) exit 1 ;;
esac
`
// ${PREFIX:?}: without PREFIX it fails, never writes /bin/nix (which may be /usr/bin/nix).
const INSTALLER = `#!/bin/sh
mkdir -p "\${PREFIX:?}/bin"
cat > "$PREFIX/bin/nix" <<'EOF'
${FAKE_NIX}EOF
chmod +x "$PREFIX/bin/nix"
`
const SHA = createHash('sha256').update(INSTALLER).digest('hex')

let work = ''
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

it("installs Nix in 'auto' mode when none is found, then probes what it installed", async () => {
  work = mkdtempSync(join(tmpdir(), 'bivm-setup-install-'))
  const server = createServer((_, response) => response.end(INSTALLER))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const prefix = join(work, 'profile')
    // A PATH with what the installer needs and no nix (/bin may be /usr/bin, which has one).
    const tools = join(work, 'tools')
    mkdirSync(tools)
    for (const tool of ['sh', 'mkdir', 'cat', 'chmod']) {
      symlinkSync(
        execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
        join(tools, tool)
      )
    }
    const ctx: StageContext = {
      log: consoleLog(() => {}),
      secrets: new Secrets(),
      reportDir: join(work, 'report'),
      tempDir: join(work, 'tmp'),
      env: {
        PATH: tools,
        HOME: join(work, 'home'),
        PREFIX: prefix,
        [INSTALLER_URL_ENV]: `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      },
      // The fake installer installs under PREFIX: the installer gets only what it is allowed.
      childEnv: { keyVar: 'PRE_NIXOS_ROOT_KEY', passEnv: ['PREFIX'] },
      signal: new AbortController().signal
    }
    const result = await setupNix(
      {
        mode: 'auto',
        nixVersion: `2.35.2@sha256:${SHA}`,
        extraNixConf: [],
        githubToken: '',
        checkKvm: async () => ({ runsGuest: false, reason: 'not checked', durationMs: 0 }),
        paths: { nixLocations: [join(prefix, 'bin/nix')], systemdDir: join(work, 'no-systemd') },
        kvmDevice: { devicePath: join(work, 'no-kvm') },
        download: { backoffMs: 1 }
      },
      ctx
    )
    expect(result.error).toBeUndefined()
    expect(result.nix).toMatchObject({
      nixPath: join(prefix, 'bin/nix'),
      version: '2.35.2',
      capabilities: { configShow: ['config', 'show'], jsonLogPath: true }
    })
    expect(result.changes[0]).toMatch(
      new RegExp(`installed Nix 2\\.35\\.2 \\(single-user\\).*sha256 ${SHA} verified`)
    )
    const changes = readFileSync(join(ctx.reportDir, 'setup', 'changes.txt'), 'utf8')
    expect(changes).toContain('installed Nix 2.35.2')
  } finally {
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
})
