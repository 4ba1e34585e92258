// The machine's build failures (issue 13), from transcripts recorded with real Nix 2.8 and 2.26 (see
// tests/fixtures/README.md for how each was made), read the way buildImage reads them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuildEvents } from '../../../src/build/events.js'
import { isEvaluationError } from '../../../src/build/evaluation-errors.js'
import { findRootFailures } from '../../../src/build/failures.js'
import {
  findMachineFailure,
  machineFailureMessage,
  unreachableBuilder
} from '../../../src/build/machine-failures.js'

const dir = join(import.meta.dirname, '../../fixtures/transcripts')

/** What buildImage hands the parsers: the error text of the events, or the plain stderr. */
function errorText(name: string): string {
  const text = readFileSync(join(dir, name), 'utf8')
  if (!name.includes('internal-json')) return text
  const events = new BuildEvents().pushAll(text.split('\n'))
  return [events.errorText(), ...events.plainLines].join('\n')
}

describe('findMachineFailure on recorded Nix 2.8 transcripts', () => {
  it.each([
    ['nix-2.8-machine-no-pty.txt', /pseudoterminal.*mount devpts on \/dev\/pts/],
    ['nix-2.8-machine-no-pty.internal-json.txt', /pseudoterminal/],
    ['nix-2.8-machine-no-daemon.txt', /running Nix daemon: nothing answers at \/nix\/var\/nix/],
    ['nix-2.8-machine-no-daemon.internal-json.txt', /running Nix daemon.*No such file/],
    ['nix-2.8-machine-daemon-refused.internal-json.txt', /running Nix daemon.*Connection refused/],
    ['nix-2.8-machine-no-space.internal-json.txt', /free disk space/],
    ['nix-2.8-machine-daemon-died.internal-json.txt', /daemon that stays up/]
  ])('%s: says what the machine lacks, blames no derivation', (name, lacks) => {
    const text = errorText(name)
    const failure = findMachineFailure(text)
    expect(failure?.lacks).toMatch(lacks)
    expect(findRootFailures(text)).toEqual([])
    // Before: one `error:` line and no build started read as the evaluator's.
    expect(isEvaluationError(text)).toBe(false)
  })

  // Recorded in the forky runner image (Nix 2.34.8, sandbox on, the daemon's build-dir on a full
  // 64 KiB tmpfs): Nix itself could not write the derivation's passAsFile attribute.
  it.each(['nix-2.34-machine-no-space.txt', 'nix-2.34-machine-no-space.internal-json.txt'])(
    '%s: Nix could not write into the build directory: a full disk, no derivation',
    name => {
      const text = errorText(name)
      expect(findMachineFailure(text)?.lacks).toMatch(/^free disk space/)
      expect(findRootFailures(text)).toEqual([])
      expect(isEvaluationError(text)).toBe(false)
    }
  )

  it('quotes what Nix said, without colour', () => {
    const failure = findMachineFailure(errorText('nix-2.8-machine-no-space.internal-json.txt'))
    expect(failure?.evidence).toBe(
      "error: creating directory '/tmp/infra/tiny/nix-build-boot-image-vm-enospc.drv-0': No space left on device"
    )
    expect(machineFailureMessage(failure!)).toMatch(
      /^This machine could not build \(not a fault of the flake or its derivations\): it lacks free disk space.*Nix said: error: creating directory/
    )
  })

  it('newer wording of a daemon that went away (from the Nix source strings)', () => {
    const text = 'error: Nix daemon disconnected unexpectedly (maybe it crashed?)'
    expect(findMachineFailure(text)?.lacks).toMatch(/daemon that stays up/)
    expect(isEvaluationError(text)).toBe(false)
  })

  // Recorded in the runner images (.lab/runner/{bookworm,trixie}: sandbox = true, build users),
  // nix build as root in the chroot; see tests/fixtures/README.md.
  it.each([
    ['nix-2.26-machine-sandbox-symlink.txt', /sandbox path Nix can bind at \/bin:.*symlink/],
    ['nix-2.26-machine-sandbox-symlink.internal-json.txt', /sandbox path Nix can bind at \/bin/],
    ['nix-2.26-machine-sandbox-missing.txt', /sandbox path \/opt\/boot-image-vm-lab\/missing:/],
    ['nix-2.26-machine-sandbox-missing.internal-json.txt', /sandbox path \/opt\/boot-image-vm-lab/],
    ['nix-2.8-machine-sandbox-missing.txt', /sandbox path \/opt\/boot-image-vm-lab\/missing:.*\?/],
    ['nix-2.8-machine-sandbox-missing.internal-json.txt', /sandbox path \/opt\/boot-image-vm-lab/]
  ])('%s: the sandbox set-up is the machine’s, not an evaluation error', (name, lacks) => {
    const text = errorText(name)
    const failure = findMachineFailure(text)
    expect(failure?.lacks).toMatch(lacks)
    expect(findRootFailures(text)).toEqual([])
    // Before: "Evaluation failed (host)", as no build had started and there is one `error:`.
    expect(isEvaluationError(text)).toBe(false)
    expect(machineFailureMessage(failure!)).toMatch(/^This machine could not build/)
  })

  it('quotes the sandbox error Nix printed, not its context line', () => {
    const failure = findMachineFailure(
      errorText('nix-2.26-machine-sandbox-symlink.internal-json.txt')
    )
    expect(failure?.evidence).toMatch(
      /^creating directory '\/nix\/store\/[a-z0-9]{32}-boot-image-vm-sandbox-bin-symlink4\.drv\.chroot\/root\/bin': No such file or directory$/
    )
  })

  it('other sandbox set-up failures, from the Nix source strings', () => {
    // 2.26 local-derivation-goal.cc: a bind that the kernel refuses.
    const bind =
      "error:\n       … while setting up the build environment\n\n       error: bind mount from '/run/binfmt' to '/nix/store/x.drv.chroot/root/run/binfmt' failed: Permission denied"
    expect(findMachineFailure(bind)?.lacks).toMatch(
      /sandbox path Nix can bind: binding \/run\/binfmt/
    )
    // Any other error in that context (here seccomp in an emulated container): the sandbox.
    const seccomp =
      'error:\n       … while setting up the build environment\n\n       error: unable to load seccomp BPF program: Invalid argument'
    const failure = findMachineFailure(seccomp)
    expect(failure?.lacks).toMatch(/^a build sandbox Nix can set up/)
    expect(failure?.evidence).toBe(
      'while setting up the build environment: error: unable to load seccomp BPF program: Invalid argument'
    )
    // Older one-line form.
    const old =
      'error: while setting up the build environment: cannot set host name: Operation not permitted'
    expect(findMachineFailure(old)?.evidence).toBe(
      'while setting up the build environment: cannot set host name: Operation not permitted'
    )
    for (const text of [bind, seccomp, old]) expect(isEvaluationError(text)).toBe(false)
  })

  it('a full disk while making the chroot is said as a full disk', () => {
    const text =
      "error:\n       … while setting up the build environment\n\n       error: creating directory '/nix/store/x.drv.chroot/root/bin': No space left on device"
    expect(findMachineFailure(text)?.lacks).toMatch(/^free disk space/)
  })

  it('evaluation errors and builder failures are not the machine', () => {
    for (const name of [
      'nix-2.8-eval-throw.txt',
      'nix-2.8-eval-missing-attribute.txt',
      'nix-2.8-failing-leaf.txt',
      'nix-2.8-hash-mismatch.txt',
      'nix-2.8-missing-features.txt'
    ]) {
      expect(findMachineFailure(errorText(name)), name).toBeUndefined()
    }
  })

  // Recorded by hand with this machine's Nix 2.8 (tests/fixtures/README.md): a builders entry for
  // ssh-ng://root@127.0.0.2 with NIX_SSHOPTS='-p 9 …', a port nothing listens on.
  it.each([
    'nix-2.8-machine-builder-unreachable.txt',
    'nix-2.8-machine-builder-unreachable.internal-json.txt'
  ])('%s: max-jobs 0, "unable to start any build" is the builder nobody reached', name => {
    const text = errorText(name)
    expect(text).toMatch(/unable to start any build; remote machines may not have all required/)
    const failure = findMachineFailure(text)
    expect(failure?.lacks).toMatch(
      /^a remote builder it can reach: the builder ssh-ng:\/\/root@127\.0\.0\.2 could not be reached/
    )
    expect(failure?.lacks).toMatch(/host key.*key path|private key path/)
    expect(failure?.lacks).toContain('NIX_SSHOPTS="-p <port>"')
    // Quoted: Nix's line, and ssh's own reason (not "a daemon that stays up": the EOF is ssh's).
    expect(failure?.evidence).toBe(
      "cannot build on 'ssh-ng://root@127.0.0.2': error: cannot open connection to remote store " +
        "'ssh-ng://root@127.0.0.2': error: unexpected end-of-file — ssh said: ssh: connect to " +
        'host 127.0.0.2 port 9: Connection refused'
    )
    expect(findRootFailures(text)).toEqual([])
    expect(isEvaluationError(text)).toBe(false)
    expect(machineFailureMessage(failure!)).toMatch(/^This machine could not build/)
  })

  it('a feature only the unreachable builder has: not the derivation’s missing feature', () => {
    const text = errorText('nix-2.8-machine-builder-unreachable-features.internal-json.txt')
    // What Nix blames: the derivation, for a feature no machine here has.
    const roots = findRootFailures(text)
    expect(roots.map(root => root.reason)).toEqual([
      'missing system features: boot-image-vm-remote'
    ])
    const failure = unreachableBuilder(
      text,
      roots.map(root => root.reason)
    )
    expect(failure?.lacks).toMatch(/the builder ssh-ng:\/\/root@127\.0\.0\.2 could not be reached/)
    // Without the connection error, a missing feature stays the derivation's.
    expect(
      unreachableBuilder(errorText('nix-2.8-missing-features.txt'), [
        'missing system features: big-gpu'
      ])
    ).toBeUndefined()
    expect(unreachableBuilder(text, [])).toBeUndefined()
  })

  it('ssh’s other reasons are quoted too (host key, permission)', () => {
    const nix =
      "cannot build on 'ssh-ng://b': error: cannot open connection to remote store 'ssh-ng://b': error: unexpected end-of-file"
    for (const ssh of ['Host key verification failed.', 'root@b: Permission denied (publickey).']) {
      expect(findMachineFailure(`${ssh}\n${nix}`)?.evidence).toBe(`${nix} — ssh said: ${ssh}`)
    }
  })
})
