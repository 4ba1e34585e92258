// Issue 23: what Nix 2.0–2.34 and QEMU 2.5–10 printed on real machines (tests/fixtures/real/nix,
// tests/fixtures/real/qemu: public issue threads, each file's first line naming its source and
// version), read by the parsers the action uses, and held to what a person reading the log
// concludes: the derivation that failed and why, the ones that failed only because of it, and
// whether the machine (not the flake) is to blame. Every file in the folders has a row here.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuildEvents } from '../../../src/build/events.js'
import {
  derivationName,
  findRootFailures,
  type ParsedFailure
} from '../../../src/build/failures.js'
import { judgeNixFailure, type NixVerdict } from '../../../src/build/verdict.js'
import { parseQemuVersion } from '../../../src/qemu-provisioning/version.js'
import { kvmFailureFromOutput } from '../../../src/vm/kvm.js'

const real = join(import.meta.dirname, '../../fixtures/real')

/** The file without its first line (the source and the version). */
function logOf(dir: string, name: string): string {
  const text = readFileSync(join(real, dir, name), 'utf8')
  expect(text.split('\n')[0], name).toMatch(/^# \S.* · (Nix|Determinate|QEMU) /)
  return text.slice(text.indexOf('\n') + 1)
}

/** What buildImage reads: the events' errors (internal-json) or the plain stderr. */
function verdictOf(name: string): NixVerdict {
  const log = logOf('nix', name)
  if (!log.includes('@nix {')) {
    const roots = findRootFailures(log)
    return judgeNixFailure(log, roots, { startedBuilding: /^building '/m.test(log) })
  }
  const events = new BuildEvents().pushAll(log.split('\n'))
  const text = [events.errorText(), ...events.plainLines].join('\n')
  const roots = events.errors.flatMap(e => findRootFailures(e.text, e.activeBuild))
  return judgeNixFailure(text, roots, { startedBuilding: events.builds.size > 0 })
}

/** What a person concludes from the log. */
type Conclusion =
  | { machine: RegExp }
  | {
      /** [name, reason] of each derivation whose own builder failed. */
      failed: [string, string | RegExp][]
      dependents?: string[]
      tail?: string[]
      machineOf?: string
    }
  | { evaluation: true }
  | { onlyDependents: string[] }

const disk = /: the disk is full \((No space left on device|Nix found less than 8 MiB free)\)$/
const sandbox = /^a build sandbox Nix can set up/
const store = /^a consistent Nix store: \/nix\/store\/\S+ is not valid/
const daemon = /^a running Nix daemon: nothing answers at \/nix\/var\/nix\/daemon-socket\/socket/

const NIX: Record<string, Conclusion> = {
  // The machine's: no derivation is to blame, whatever the evaluator was doing at the time.
  'nix-2.4pre-sandbox-mount-namespace.txt': { machine: sandbox },
  'nix-2.2-setup-exec-format.txt': { machine: /^a CPU \(or emulation\) that runs.*bash-4\.4-p23/ },
  'nix-2.4pre-invalid-path.txt': { machine: store },
  'nix-2.2x-invalid-path-eval.txt': { machine: store },
  'nix-2.2x-ssh-failed-to-start.txt': {
    machine: /^a remote builder it can reach: the builder ssh:\/\/builder@linux-builder could not/
  },
  'nix-2.10-no-machine-for-remote-build.txt': { machine: /^a remote builder it can reach/ },
  'nix-2.12-daemon-refused.txt': { machine: daemon },
  'nix-2.0-daemon-refused.txt': { machine: daemon },
  'nix-2.2x-no-daemon-eval.txt': { machine: daemon },
  // The flake's derivations, with the reason a person would give.
  'nix-2.3x-no-output-quoted.txt': {
    failed: [
      ['nix-output-monitor-2.1.8', "builder failed to produce output path for output 'test'"]
    ]
  },
  'nix-2.16-no-output.txt': {
    failed: [
      ['util-linux-minimal-2.39', "builder failed to produce output path for output 'mount'"]
    ]
  },
  'nix-2.8-no-output-dependents.txt': {
    failed: [
      ['auto-fix-vscode-server.service', "builder failed to produce output path for output 'out'"]
    ],
    dependents: ['home-manager-files', 'home-manager-generation']
  },
  'nix-2.31pre-remote-no-output.txt': {
    // Nix's later "Reason: builder failed with exit code 1" is its view of the goal, not why.
    failed: [['test', "builder failed to produce output path for output 'out'"]],
    tail: ['hi'],
    machineOf: 'ssh://agent-2'
  },
  'nix-2.3-no-space-mv.txt': { failed: [['etc-bashrc', disk]] },
  'nix-2.2x-no-space-kernel.txt': {
    failed: [['linux-rpi-aarch64-unknown-linux-gnu-6.6.51-stable_20241008', disk]]
  },
  'nix-2.4pre-no-space-kernel.txt': { failed: [['linux-5.11.2', disk]] },
  'nix-2.1x-no-space-two.txt': { failed: [['liburcu-0.14.0', disk]] },
  'nix-2.3-hash-mismatch-output-path.txt': {
    failed: [['dhall-json-1.4.1-x86_64-linux.tar.bz2', /^hash mismatch .*specified sha256:0hv5/]],
    dependents: ['dhall-json-simple']
  },
  'nix-2.3-hash-mismatch-wanted.txt': {
    failed: [['eventlog2html-plan-to-nix-pkgs', /^hash mismatch .*got sha256:064x0y3ix5h/]]
  },
  'nix-2.4pre-hash-mismatch.txt': {
    failed: [['channel-rust-stable.toml', /^hash mismatch .*got sha256-KCh2UBGt/]]
  },
  'nix-2.2x-hash-mismatch-dependents.txt': {
    failed: [['180.diff', /^hash mismatch .*specified sha256-eP7PRxno/]],
    dependents: ['base-static-x86_64-unknown-linux-musl-v0.17.1']
  },
  // A fixed-output build during evaluation (import from derivation): the build failed, not Nix code.
  'nix-2.1x-hash-mismatch-in-eval.txt': {
    failed: [['Packages', /^hash mismatch .*got sha256-x3MwaM53/]]
  },
  'nix-2.2x-hash-mismatch-likely-url.txt': {
    failed: [['source', /^hash mismatch .*specified sha256-D2wkC6VR/]]
  },
  // "Permission denied" in a builder's own log is the derivation's (it wrote outside $out).
  'nix-2.3x-permission-denied-in-builder.txt': {
    failed: [['enola-31fd088', 'builder failed with exit code 1']],
    tail: expect.arrayContaining(["mkdir: cannot create directory '/build': Permission denied"])
  },
  'nix-2.11-builder-not-executable.txt': {
    failed: [['foobar', 'builder failed with exit code 1']]
  },
  'nix-2.3-exit-126-dependents.txt': {
    failed: [['b43-firmware-5.100.138', 'builder failed with exit code 126']],
    dependents: ['firmware', 'nixos-system-usb-nixos-19.09.809.5000b1478a1']
  },
  'nix-2.33pre-cannot-build.txt': {
    failed: [['nix-store-2.33pre20251107_479b6b73', 'builder failed with exit code 1']]
  },
  'nix-2.0-platform.txt': {
    failed: [
      [
        'append-initrd-secrets',
        'platform mismatch: needs aarch64-linux, this machine is x86_64-linux'
      ]
    ]
  },
  'nix-2.3-features.txt': {
    failed: [['bootstrap-stage0-glibc', 'missing system features: gccarch-skylake']]
  },
  'nix-2.2x-platform-features.txt': {
    failed: [['builder.pl', 'platform mismatch: needs aarch64-linux, this machine is x86_64-linux']]
  },
  'nix-2.28-internal-json-builder.txt': {
    failed: [['asdf-b', 'builder failed with exit code 1']],
    tail: ['Running phase: installPhase']
  },
  'nix-2.4pre-bear-daemon.txt': { failed: [['bear-3.0.2', 'builder failed with exit code 2']] },
  'nix-2.24-builder-then-broken-store.txt': {
    failed: [['nixos-rebuild', 'builder failed with exit code 1']]
  },
  // Only the chain above an unseen leaf: nothing to blame, but the chain is named.
  'nix-2.31-cannot-build-dependents.txt': {
    onlyDependents: ['nix-cmd-2.33pre20251107_479b6b73', 'nix-fetchers-c-2.33pre20251107_479b6b73']
  },
  // The report's last two paths lost or gained a hash character (31, 33): no store paths.
  'nix-2.2x-dependents-only.txt': {
    onlyDependents: ['greetd.toml', 'unit-greetd.service', 'system-units']
  },
  'nix-2.3-nix-on-droid-chain.txt': {
    onlyDependents: ['gnumake-4.3', 'hook', 'stdenv-linux', 'hello-2.10']
  },
  // The evaluator's: the flake's Nix code.
  'nix-2.2x-eval-attribute-missing.txt': { evaluation: true },
  'nix-2.1x-eval-does-not-provide.txt': { evaluation: true },
  'nix-2.10-eval-coerce-null.txt': { evaluation: true },
  'nix-2.15-eval-currentsystem.txt': { evaluation: true }
}

function expectConclusion(verdict: NixVerdict, conclusion: Conclusion): void {
  if ('machine' in conclusion) {
    expect(verdict.kind).toBe('machine')
    if (verdict.kind === 'machine') expect(verdict.failure.lacks).toMatch(conclusion.machine)
  } else if ('evaluation' in conclusion) {
    expect(verdict.kind).toBe('evaluation')
  } else if ('onlyDependents' in conclusion) {
    expect(verdict).toEqual({ kind: 'unexplained', dependents: expect.any(Array) })
    const dependents = verdict.kind === 'unexplained' ? verdict.dependents : []
    expect(dependents.map(derivationName)).toEqual(conclusion.onlyDependents)
  } else {
    expect(verdict.kind).toBe('derivations')
    const roots: ParsedFailure[] = verdict.kind === 'derivations' ? verdict.roots : []
    expect(roots.map(r => [r.name, r.reason])).toEqual(
      conclusion.failed.map(([name, reason]) => [
        name,
        typeof reason === 'string' ? reason : expect.stringMatching(reason)
      ])
    )
    const dependents = verdict.kind === 'derivations' ? verdict.dependents : []
    expect(dependents.map(derivationName)).toEqual(conclusion.dependents ?? [])
    if (conclusion.tail) expect(roots[0].tail).toEqual(conclusion.tail)
    expect(roots[0].machine).toBe(conclusion.machineOf)
  }
}

describe('real Nix logs (tests/fixtures/real/nix)', () => {
  const files = readdirSync(join(real, 'nix')).filter(name => name.endsWith('.txt'))

  it('every file has a conclusion, and there are at least 40 across Nix 2.0–2.34', () => {
    expect(Object.keys(NIX).sort()).toEqual(files.sort())
    expect(files.length).toBeGreaterThanOrEqual(40)
  })

  it.each(Object.entries(NIX))('%s', (name, conclusion) => {
    expectConclusion(verdictOf(name), conclusion)
  })
})

/** What the action concludes from QEMU's words: its version, or whether KVM failed. */
type QemuConclusion = { version: string } | { kvm: RegExp } | { notKvm: true }

const QEMU: Record<string, QemuConclusion> = {
  'qemu-2.7-version-comma.txt': { version: '2.7.0' },
  'qemu-2.5-version-debian-comma.txt': { version: '2.5.0 (Debian 1:2.5+dfsg-5ubuntu10.16)' },
  'qemu-7.0-version-debian.txt': { version: '7.0.0 (Debian 1:7.0+dfsg-7ubuntu1~jammy1.0)' },
  'qemu-9.1-version-msys2.txt': { version: '9.1.2' },
  // A firmware or drive file QEMU cannot open is never KVM's, even on a path that says kvm.
  'qemu-4.x-pflash-vars-missing-kvm-path.txt': { notKvm: true },
  'qemu-4.x-pflash-code-missing.txt': { notKvm: true },
  'qemu-10.x-pflash-ovmf-path.txt': { notKvm: true },
  'qemu-6.2-bios-ovmf-4m.txt': { notKvm: true },
  'qemu-x-bios-edk2-kvm-repo.txt': { notKvm: true },
  'qemu-4.2-no-kvm-module.txt': {
    kvm: /^Could not access KVM kernel module: No such file or directory$/
  },
  'qemu-4.x-kvm-permission.txt': { kvm: /^Could not access KVM kernel module: Permission denied$/ },
  'qemu-6.x-kvm-module-spdk.txt': { kvm: /^Could not access KVM kernel module/ },
  'qemu-2.x-kvm-fallback-tcg.txt': { kvm: /^Could not access KVM kernel module/ }
}

describe('real QEMU output (tests/fixtures/real/qemu)', () => {
  it('every file has a conclusion', () => {
    const files = readdirSync(join(real, 'qemu')).filter(name => name.endsWith('.txt'))
    expect(Object.keys(QEMU).sort()).toEqual(files.sort())
  })

  it.each(Object.entries(QEMU))('%s', (name, conclusion) => {
    const output = logOf('qemu', name)
    if ('version' in conclusion) expect(parseQemuVersion(output)).toBe(conclusion.version)
    else if ('kvm' in conclusion) expect(kvmFailureFromOutput(output)).toMatch(conclusion.kvm)
    else expect(kvmFailureFromOutput(output)).toBeUndefined()
  })
})
