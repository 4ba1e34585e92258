import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuildEvents } from '../../../src/build/events.js'
import {
  derivationName,
  findDependents,
  findRootFailures,
  type ParsedFailure
} from '../../../src/build/failures.js'
import { stripAnsi } from '../../../src/shared/nix-error.js'
import { isEvaluationError } from '../../../src/build/evaluation-errors.js'

const dir = join(import.meta.dirname, '../../fixtures/transcripts')
const transcript = (name: string): string => readFileSync(join(dir, name), 'utf8')

/** Plain transcripts as they are; internal-json ones through the events reducer, as buildImage does. */
function analyse(name: string): { roots: ParsedFailure[]; dependents: string[] } {
  const text = transcript(name)
  if (!name.includes('internal-json')) {
    return { roots: findRootFailures(text), dependents: findDependents(text) }
  }
  const events = new BuildEvents().pushAll(text.split('\n'))
  const roots = events.errors.flatMap(error => findRootFailures(error.text, error.activeBuild))
  return { roots, dependents: findDependents(events.errorText()) }
}

const names = (failures: ParsedFailure[]): string[] => failures.map(f => f.name)
const depNames = (drvs: string[]): string[] => drvs.map(derivationName)
const lines = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`)

describe('findRootFailures on recorded Nix 2.8 transcripts', () => {
  for (const format of ['', '.internal-json']) {
    it(`failing leaf${format}: the leaf, exit code 1`, () => {
      const { roots, dependents } = analyse(`nix-2.8-failing-leaf${format}.txt`)
      expect(roots).toHaveLength(1)
      expect(roots[0]).toMatchObject({
        name: 'broken-leaf',
        reason: 'builder failed with exit code 1',
        exitCode: 1
      })
      expect(roots[0].drv).toMatch(/^\/nix\/store\/[0-9a-z]{32}-broken-leaf\.drv$/)
      // The quoted tail ends with the builder's own "error:" line: still log, not a new error.
      const tail = [
        ...lines(33, 40),
        'broken-leaf: stderr line 40',
        'error: broken-leaf: deliberate build failure (boot-image-vm fixture)'
      ]
      expect(roots[0].tail).toEqual(format ? [] : tail)
      expect(dependents).toEqual([])
    })

    it(`two levels deep${format}: the leaf is the root, middle and top are dependents`, () => {
      const { roots, dependents } = analyse(`nix-2.8-failing-deep${format}.txt`)
      expect(names(roots)).toEqual(['broken-leaf'])
      expect(depNames(dependents)).toEqual(['boot-image-vm-rootfs', 'boot-image-vm-deep.iso'])
    })

    it(`two failing leaves with --keep-going${format}: both, never the parent`, () => {
      const { roots, dependents } = analyse(`nix-2.8-failing-two${format}.txt`)
      expect(names(roots)).toEqual(['broken-alpha', 'broken-beta'])
      expect(depNames(dependents)).toEqual(['boot-image-vm-two.iso'])
    })

    it(`killed by a signal${format}`, () => {
      const [root] = analyse(`nix-2.8-signal${format}.txt`).roots
      expect(root).toMatchObject({
        name: 'killed-leaf',
        reason: 'builder failed due to signal 9 (Killed)',
        exitCode: null,
        signal: '9 (Killed)'
      })
    })

    it(`missing system features${format}: names the missing one only`, () => {
      const [root] = analyse(`nix-2.8-missing-features${format}.txt`).roots
      expect(root).toMatchObject({ name: 'needs-kvm', reason: 'missing system features: big-gpu' })
    })

    it(`hash mismatch${format}: specified and got hashes`, () => {
      const [root] = analyse(`nix-2.8-hash-mismatch${format}.txt`).roots
      expect(root.name).toBe('fod-mismatch')
      expect(root.reason).toBe(
        'hash mismatch in fixed-output derivation: specified sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, got sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM='
      )
    })

    it(`no output produced${format}`, () => {
      const [root] = analyse(`nix-2.8-no-output${format}.txt`).roots
      expect(root).toMatchObject({
        name: 'no-output',
        reason: "builder failed to produce output path for output 'out'"
      })
    })

    it(`silence timeout${format}`, () => {
      const [root] = analyse(`nix-2.8-silence-timeout${format}.txt`).roots
      expect(root).toMatchObject({
        name: 'silent-leaf',
        reason: 'timed out after 2 seconds of silence (max-silent-time)'
      })
      expect(root.drv.endsWith('.drv')).toBe(true)
    })

    it(`an evaluation error${format} is not a build failure`, () => {
      const text = transcript(`nix-2.8-eval-throw${format}.txt`)
      expect(analyse(`nix-2.8-eval-throw${format}.txt`).roots).toEqual([])
      const plain = format ? new BuildEvents().pushAll(text.split('\n')).errorText() : text
      expect(isEvaluationError(plain)).toBe(true)
    })
  }

  it('a missing attribute is an evaluation error', () => {
    const text = transcript('nix-2.8-eval-missing-attribute.txt')
    expect(findRootFailures(text)).toEqual([])
    expect(isEvaluationError(text)).toBe(true)
  })

  it('build timeout', () => {
    const [root] = analyse('nix-2.8-timeout.txt').roots
    expect(root).toMatchObject({
      name: 'silent-leaf',
      reason: 'timed out after 2 seconds (timeout)'
    })
  })

  it('every 2.8 build failure transcript is not an evaluation error', () => {
    for (const name of readdirSync(dir).filter(n => n.startsWith('nix-2.8') && !n.includes('eval')))
      expect(isEvaluationError(transcript(name)), name).toBe(false)
  })
})

describe('findRootFailures on recorded Nix 2.34 transcripts (the forky runner image)', () => {
  for (const format of ['', '.internal-json']) {
    it(`failing leaf${format}: the leaf, exit code 1, the 25-line tail`, () => {
      const { roots, dependents } = analyse(`nix-2.34-failing-leaf${format}.txt`)
      expect(roots.map(r => [r.name, r.reason, r.exitCode])).toEqual([
        ['broken-leaf', 'builder failed with exit code 1', 1]
      ])
      expect(roots[0].tail.at(-1)).toBe(
        'error: broken-leaf: deliberate build failure (boot-image-vm fixture)'
      )
      expect(roots[0].tail).toHaveLength(25)
      expect(dependents).toEqual([])
    })

    it(`two levels deep${format}: the leaf; its parents by "Reason: 1 dependency failed."`, () => {
      const { roots, dependents } = analyse(`nix-2.34-failing-deep${format}.txt`)
      expect(names(roots)).toEqual(['broken-leaf'])
      expect(depNames(dependents)).toEqual(['boot-image-vm-rootfs', 'boot-image-vm-deep.iso'])
    })
  }

  it('two failing leaves with --keep-going: both, the parent only a dependent', () => {
    const { roots, dependents } = analyse('nix-2.34-failing-two.txt')
    expect(names(roots)).toEqual(['broken-alpha', 'broken-beta'])
    expect(depNames(dependents)).toEqual(['boot-image-vm-two.iso'])
  })

  it.each(['nix-2.34-eval-throw.txt', 'nix-2.34-eval-throw.internal-json.txt'])(
    '%s: an evaluation error, no root',
    name => {
      const text = transcript(name)
      const plain = name.includes('internal-json')
        ? new BuildEvents().pushAll(text.split('\n')).errorText()
        : text
      expect(findRootFailures(plain)).toEqual([])
      expect(isEvaluationError(plain)).toBe(true)
    }
  )

  it.each(['nix-2.34-no-space-builder.txt', 'nix-2.34-no-space-builder.internal-json.txt'])(
    '%s: the builder ran out of disk: its reason says the disk is full',
    name => {
      const { roots } = analyse(name)
      expect(roots.map(r => r.reason)).toEqual([
        'builder failed with exit code 1: the disk is full (No space left on device)'
      ])
    }
  )
})

describe('findRootFailures on other versions (written from the Nix source strings)', () => {
  it('2.3: no error prefix, two-space tail, signal, dependents', () => {
    const { roots, dependents } = analyse('nix-2.3-failing-two.txt')
    expect(names(roots)).toEqual(['broken-alpha', 'broken-beta'])
    expect(roots[0]).toMatchObject({ exitCode: 1, tail: [...lines(32, 40), 'stderr 40'] })
    expect(roots[1]).toMatchObject({ signal: '9 (Killed)', tail: ['about to die'] })
    expect(depNames(dependents)).toEqual(['two-parent'])
  })

  it('2.3: hash mismatch (wanted), features, silence timeout, disk space', () => {
    const { roots, dependents } = analyse('nix-2.3-misc.txt')
    expect(roots.map(r => [r.name, r.reason])).toEqual([
      [
        'source',
        'hash mismatch in fixed-output derivation: specified sha256:0000000000000000000000000000000000000000000000000000, got sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s'
      ],
      ['vm-test-run-boot', 'missing system features: kvm'],
      ['slow-tests', 'timed out after 3600 seconds of silence (max-silent-time)'],
      ['big-image', 'builder failed with exit code 1: the disk is full (No space left on device)']
    ])
    expect(roots[3].tail).toHaveLength(2)
    expect(dependents).toEqual([])
  })

  it('2.18: three-level chain, `nix log` in quotes', () => {
    const { roots, dependents } = analyse('nix-2.18-failing-deep.txt')
    expect(roots).toHaveLength(1)
    expect(roots[0]).toMatchObject({ name: 'deep-leaf', exitCode: 2, tail: lines(31, 40) })
    expect(depNames(dependents)).toEqual(['deep-middle', 'deep-top'])
  })

  it('2.26: "For full logs, run:" on its own line, 25-line tail, signal', () => {
    const { roots, dependents } = analyse('nix-2.26-failing-two.txt')
    expect(names(roots)).toEqual(['broken-alpha', 'broken-beta'])
    expect(roots[0].tail).toEqual(lines(16, 40))
    expect(roots[1]).toMatchObject({ signal: '9 (Killed)', tail: ['about to die'] })
    expect(depNames(dependents)).toEqual(['two-parent'])
  })

  it('2.26: hash mismatch, features, silence timeout, disk space, no output', () => {
    const { roots, dependents } = analyse('nix-2.26-misc.txt')
    expect(roots.map(r => [r.name, r.reason.replace(/: specified.*/, '')])).toEqual([
      ['source', 'hash mismatch in fixed-output derivation'],
      ['vm-test-run-boot', 'missing system features: kvm'],
      ['slow-tests', 'timed out after 600 seconds of silence (max-silent-time)'],
      ['big-image', 'builder failed with exit code 1: the disk is full (No space left on device)'],
      ['no-output', "builder failed to produce output path for output 'out'"]
    ])
    expect(roots[3].tail).toEqual([
      "cp: error writing '/build/disk.img': No space left on device",
      'make: *** [Makefile:12: image] Error 1'
    ])
    expect(depNames(dependents)).toEqual(['all'])
  })

  it('2.26 internal-json with parents and phases: leaf from events, image a dependent', () => {
    const { roots, dependents } = analyse('nix-2.26-failing-leaf.internal-json.txt')
    expect(names(roots)).toEqual(['failing-leaf'])
    expect(depNames(dependents)).toEqual(['boot-image'])
  })

  it('2.29: "Cannot build" with Reason lines; dependents by "N dependency failed"', () => {
    const { roots, dependents } = analyse('nix-2.29-failing-deep.txt')
    expect(roots).toEqual([
      expect.objectContaining({
        name: 'deep-leaf',
        reason: 'builder failed with exit code 1',
        exitCode: 1,
        tail: lines(16, 40)
      })
    ])
    expect(depNames(dependents)).toEqual(['deep-middle', 'deep-top'])
  })

  it('2.31: required system or feature, signal, disk space, silence, 3 dependencies', () => {
    const { roots, dependents } = analyse('nix-2.31-misc.txt')
    expect(roots.map(r => [r.name, r.reason])).toEqual([
      ['vm-test-run-boot', 'missing system features: kvm'],
      ['killed', 'builder failed due to signal 9 (Killed)'],
      ['big-image', 'builder failed with exit code 1: the disk is full (No space left on device)'],
      ['slow-tests', 'timed out after 600 seconds of silence (max-silent-time)']
    ])
    expect(roots[1].tail).toEqual(['about to die'])
    expect(depNames(dependents)).toEqual(['all'])
  })

  it('2.35: timeout without a derivation, missing features, platform mismatch', () => {
    const { roots, dependents } = analyse('nix-2.35-misc.txt')
    expect(roots.map(r => [r.name, r.reason])).toEqual([
      ['slow-tests', 'timed out after 600 seconds (timeout)'],
      ['vm-test-run-boot', 'missing system features: kvm'],
      ['arm-tool', 'platform mismatch: needs aarch64-linux, this machine is x86_64-linux'],
      ['failing-leaf', 'builder failed with exit code 1'],
      ['source', expect.stringMatching(/^hash mismatch in fixed-output derivation: specified/)]
    ])
    expect(roots[3].tail).toEqual(lines(16, 40))
    expect(depNames(dependents)).toEqual(['all'])
  })

  it('Lix: tab-indented nix log line, hash mismatch with likely URL', () => {
    const { roots, dependents } = analyse('lix-2.93-failing.txt')
    expect(roots.map(r => r.name)).toEqual(['broken-alpha', 'source'])
    expect(roots[0].tail).toEqual(lines(16, 40))
    expect(roots[1].reason).toMatch(/specified sha256-A+=, got sha256-WJG1/)
    expect(depNames(dependents)).toEqual(['two-parent'])
  })

  it('Determinate 3.x: two leaves with different exit codes, parent a dependent', () => {
    const { roots, dependents } = analyse('determinate-3.8-failing-two.txt')
    expect(roots.map(r => [r.name, r.exitCode])).toEqual([
      ['broken-alpha', 1],
      ['broken-beta', 3]
    ])
    expect(roots[1].tail).toEqual(['beta: missing /dev/kvm'])
    expect(depNames(dependents)).toEqual(['two-parent'])
  })

  it('every transcript: no derivation is both a root failure and a dependent', () => {
    for (const name of readdirSync(dir).filter(n => n.endsWith('.txt'))) {
      const { roots, dependents } = analyse(name)
      for (const root of roots) expect(dependents, name).not.toContain(root.drv)
    }
  })
})

describe('helpers', () => {
  it('derivationName drops the hash and .drv', () => {
    expect(derivationName('/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-failing-leaf.drv')).toBe(
      'failing-leaf'
    )
    expect(derivationName('/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-nixos-24.05.iso.drv')).toBe(
      'nixos-24.05.iso'
    )
  })

  it('stripAnsi removes colours and hyperlinks', () => {
    expect(
      stripAnsi('\u001b[31;1merror:\u001b[0m x \u001b]8;;http://a\u0007link\u001b]8;;\u0007')
    ).toBe('error: x link')
  })

  it('deduplicates a derivation reported twice, keeping the tail', () => {
    const drv = '/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-failing-leaf.drv'
    const text = [
      `error: builder for '${drv}' failed with exit code 1`,
      `error: builder for '${drv}' failed with exit code 1;`,
      '       last 1 log lines:',
      '       > boom',
      `       For full logs, run 'nix log ${drv}'.`
    ].join('\n')
    expect(findRootFailures(text)).toEqual([
      {
        drv,
        name: 'failing-leaf',
        reason: 'builder failed with exit code 1',
        exitCode: 1,
        tail: ['boom']
      }
    ])
  })

  it('a failure with no quoted tail does not take the next one’s', () => {
    const a = '/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-a.drv'
    const b = '/nix/store/bk1h9bqdb9bvzsdz6dq6nl6d8f329h4w-b.drv'
    const text = [
      `error: builder for '${a}' failed with exit code 1`,
      `error: builder for '${b}' failed with exit code 2;`,
      '       last 1 log lines:',
      '       > b says',
      ''
    ].join('\n')
    expect(findRootFailures(text).map(f => f.tail)).toEqual([[], ['b says']])
  })

  it('isEvaluationError recognises evaluation errors and not build errors', () => {
    expect(isEvaluationError("error: attribute 'nope' missing")).toBe(true)
    expect(
      isEvaluationError(
        "error: flake 'git+file:///tmp/x' does not provide attribute 'packages.x86_64-linux.nope'"
      )
    ).toBe(true)
    expect(
      isEvaluationError("error: getting status of '/tmp/x/key.pub': No such file or directory")
    ).toBe(true)
    expect(isEvaluationError("error: path '/tmp/x' does not exist")).toBe(true)
    expect(
      isEvaluationError('error: evaluation aborted with the following error message: boom')
    ).toBe(true)
    expect(
      isEvaluationError('error: cannot connect to socket at /nix/var/nix/daemon-socket/socket')
    ).toBe(false)
    expect(isEvaluationError(transcript('nix-2.26-failing-two.txt'))).toBe(false)
    expect(isEvaluationError(transcript('nix-2.29-failing-deep.txt'))).toBe(false)
  })
})

describe('what is not a root cause', () => {
  it('a timeout or log limit someone else printed is not blamed on a build', () => {
    const text = [
      "building '/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-fetch.drv'...",
      'curl: (28) Connection timed out after 30 seconds',
      "error: build of '/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-fetch.drv^out' failed"
    ].join('\n')
    expect(findRootFailures(text)).toEqual([])
  })

  it('a log limit names the build', () => {
    const drv = '/nix/store/ak1h9bqdb9bvzsdz6dq6nl6d8f329h4w-chatty.drv'
    const text = `error: building of '${drv}^out' from .drv file killed after writing more than 1024 bytes of log output`
    expect(findRootFailures(text)).toMatchObject([
      { drv, name: 'chatty', reason: 'killed after writing more than 1024 bytes of log output' }
    ])
  })
})

describe('wording seen in real logs (tests/fixtures/real/nix has the logs themselves)', () => {
  const drv = '/nix/store/0y0jz1i6sia87lh1z70g0b8w8737imb9-asdf-b.drv'

  it('an error glued to the progress bar keeps its root (no newline after the bar)', () => {
    const text = `[1/0/6 built] building asdf-b (buildPhase): 6/23error: builder for '${drv}' failed with exit code 2;\n       last 1 log lines:\n       > make: *** Error 2`
    const [root] = findRootFailures(text)
    expect(root).toMatchObject({ name: 'asdf-b', exitCode: 2, tail: ['make: *** Error 2'] })
  })

  it('a builder log line quoting an error (a nested nix) is no root', () => {
    expect(findRootFailures(`asdf-b> error: builder for '${drv}' failed with exit code 2`)).toEqual(
      []
    )
    expect(
      findRootFailures(`       > error: builder for '${drv}' failed with exit code 2`)
    ).toEqual([])
  })

  it('a missing output keeps its reason when Nix later says "exit code 1"', () => {
    const text = [
      `error: builder for '${drv}' failed to produce output path for output 'out' at "/nix/store/x.drv.chroot/root/nix/store/y-asdf-b"`,
      `error: Cannot build '${drv}'.`,
      '       Reason: builder failed with exit code 1.'
    ].join('\n')
    expect(findRootFailures(text).map(r => r.reason)).toEqual([
      "builder failed to produce output path for output 'out'"
    ])
  })
})
