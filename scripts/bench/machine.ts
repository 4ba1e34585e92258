// Part of `npm run bench` (scripts/bench.ts, the runner): the machine the figures were measured on.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { NODE24 } from '../../tests/helpers/action-runner.js'
import { labNixEnv, REPO_ROOT } from '../../tests/helpers/lab.js'
import { firstLine } from './processes.js'

export function machine(distHash: string): [string, string][] {
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown'
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''
  const pretty = /PRETTY_NAME="?([^"\n]*)"?/.exec(osRelease)?.[1] ?? 'unknown'
  const debian = existsSync('/etc/debian_version')
    ? readFileSync('/etc/debian_version', 'utf8').trim()
    : 'not Debian'
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: REPO_ROOT,
    encoding: 'utf8'
  })
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'dist'], {
    cwd: REPO_ROOT,
    encoding: 'utf8'
  })
  return [
    ['CPU', `${cpuModel} (${cpus().length} cores)`],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `${pretty} (Debian ${debian}), kernel ${firstLine('uname', ['-r'])}`],
    ['Nix', firstLine('nix', ['--version'], labNixEnv())],
    ['QEMU', firstLine('qemu-system-x86_64', ['--version'])],
    ['Node (action steps)', firstLine(NODE24, ['--version'])],
    ['Node (bench harness)', process.version],
    ['OpenSSH (bare script)', firstLine('ssh', ['-V'])],
    ['/dev/kvm', existsSync('/dev/kvm') ? 'present (see the KVM check figure)' : 'absent'],
    [
      'commit',
      `${git.stdout.trim() || 'unknown'}${dirty.stdout.trim() ? ' + uncommitted changes in src/ or dist/' : ''}; dist/index.js sha256 ${distHash}…`
    ]
  ]
}
