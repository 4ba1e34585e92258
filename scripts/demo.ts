// `npm run demo`: the whole job on the offline fixture, through the bundled command line, the way
// a laptop user runs it. Prints the verdict and where the report is.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { LAB_PASS_ENV, labNixEnv, makeFixtureFlake, REPO_ROOT } from '../tests/helpers/lab.js'

// The fixture guest is busybox + dropbear: these probes gather what it has (the defaults expect systemd).
const probes = [
  'addresses: ip address show',
  'routes: ip route show',
  'kernel: uname -a',
  'listening [optional]: netstat -tln'
].join('\n')

const reportDir = join(REPO_ROOT, 'demo-report')
const flake = makeFixtureFlake()
const args = [
  join(REPO_ROOT, 'dist', 'cli.js'),
  ['--flake', flake],
  ['--image', 'bootImage'],
  ['--devshell', 'bootImageTest'],
  ['--memory', '512'],
  ['--boot-timeout', '180'],
  ['--probes', probes],
  ['--report-dir', reportDir],
  // The fixture reads where the lab's kernel and rootfs are: nix gets only what is named (issue 22).
  ['--pass-env', LAB_PASS_ENV.join('\n')]
].flat()
const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: labNixEnv() })
process.exitCode = run.status ?? 1
