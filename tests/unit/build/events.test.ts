import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BuildEvents, parseEventLine } from '../../../src/build/events.js'

const dir = join(import.meta.dirname, '../../fixtures/transcripts')
const replay = (name: string): BuildEvents =>
  new BuildEvents().pushAll(readFileSync(join(dir, name), 'utf8').trimEnd().split('\n'))

describe('parseEventLine', () => {
  it('reads start, stop, result and msg events', () => {
    expect(
      parseEventLine(
        '@nix {"action":"start","fields":["/nix/store/x.drv","",1,1],"id":7,"level":3,"text":"building \'/nix/store/x.drv\'","type":105}'
      )
    ).toEqual({
      action: 'start',
      id: 7,
      level: 3,
      type: 105,
      text: "building '/nix/store/x.drv'",
      fields: ['/nix/store/x.drv', '', 1, 1],
      parent: 0
    })
    expect(parseEventLine('@nix {"action":"stop","id":7}')).toEqual({ action: 'stop', id: 7 })
    expect(parseEventLine('@nix {"action":"result","fields":["hi"],"id":7,"type":101}')).toEqual({
      action: 'result',
      id: 7,
      type: 101,
      fields: ['hi']
    })
    expect(
      parseEventLine('@nix {"action":"msg","level":0,"msg":"error: boom","raw_msg":"boom"}')
    ).toEqual({ action: 'msg', level: 0, msg: 'error: boom', rawMsg: 'boom' })
  })

  it('keeps parent from 2.18 on', () => {
    const event = parseEventLine(
      '@nix {"action":"start","id":2,"level":0,"parent":1,"text":"","type":104}'
    )
    expect(event).toMatchObject({ parent: 1 })
  })

  it('plain text, broken JSON and unknown actions are not events', () => {
    expect(parseEventLine("warning: Git tree '/x' is dirty")).toBeUndefined()
    expect(parseEventLine('@nix {"action":"start"')).toBeUndefined()
    expect(parseEventLine('@nix {"action":"dance"}')).toBeUndefined()
    expect(parseEventLine('@nix 42')).toBeUndefined()
  })
})

describe('BuildEvents on a real Nix 2.8 failing leaf', () => {
  const events = replay('nix-2.8-failing-leaf.internal-json.txt')

  it('keeps every log line of the build, stdout and stderr', () => {
    const [build] = [...events.builds.values()]
    expect(build.name).toBe('broken-leaf')
    expect(build.running).toBe(false)
    expect(build.log.filter(l => l.startsWith('line '))).toHaveLength(40)
    expect(build.log).toContain('broken-leaf: stderr line 40')
    expect(events.logOf(build.drv)).toBe(build.log)
  })

  it('reconstructs a human log: messages, build starts, prefixed log lines, the error', () => {
    const human = events.humanLines()
    expect(human).toContain(`building '${[...events.builds.keys()][0]}'...`)
    expect(human).toContain('broken-leaf> line 1')
    expect(human).toContain('broken-leaf> line 40')
    expect(human.at(-1)).toMatch(
      /^error: builder for '.*-broken-leaf\.drv' failed with exit code 1$/
    )
    expect(human.join('\n')).not.toContain('\u001b')
  })

  it('records the error with the build it belongs to', () => {
    expect(events.errors).toHaveLength(1)
    expect(events.errors[0].activeBuild).toMatch(/-broken-leaf\.drv$/)
  })

  it('tracks progress from the builds activity', () => {
    expect(events.progress).toEqual({ done: 0, expected: 0, running: 0, failed: 1 })
    expect(events.progressLine()).toBe('[0/0 built, 1 failed]')
  })
})

describe('BuildEvents progress and phases', () => {
  it('shows the running build and its phase', () => {
    const lines = readFileSync(join(dir, 'nix-2.26-failing-leaf.internal-json.txt'), 'utf8').split(
      '\n'
    )
    const events = new BuildEvents()
    const outcomes = lines.slice(0, 12).map(line => events.push(line))
    expect(outcomes.find(o => o.started)?.started).toMatch(/-failing-leaf\.drv$/)
    expect(events.progressLine()).toBe('[0/2 built, 1 running] building failing-leaf (buildPhase)')
    const rest = lines.slice(12).map(line => events.push(line))
    expect(rest.find(o => o.finished)?.finished).toMatch(/-failing-leaf\.drv$/)
    expect(events.progressLine()).toBe('[0/2 built, 1 failed]')
    expect(events.errors.map(e => e.text)).toEqual([
      expect.stringMatching(/^error: builder for .* failed with exit code 1$/),
      expect.stringMatching(
        /^error: 1 dependencies of derivation .*-boot-image\.drv' failed to build$/
      )
    ])
  })

  it('a silence timeout that arrives after its build stopped is put on that build', () => {
    const events = replay('nix-2.8-silence-timeout.internal-json.txt')
    expect(events.errors[0].activeBuild).toMatch(/-silent-leaf\.drv$/)
  })

  it('plain lines between events are kept as they are', () => {
    const events = new BuildEvents()
    events.push('\u001b[1mevaluating derivation\u001b[0m')
    expect(events.plainLines).toEqual(['evaluating derivation'])
    expect(events.humanLines()).toEqual(['evaluating derivation'])
  })
})
