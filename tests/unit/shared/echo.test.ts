// Untrusted text never becomes a workflow command: what log.echo and log.info print, read back
// the way the runner reads a step's output (tests/helpers/action-runner.ts's runnerCommands,
// after actions/runner's ActionCommand.cs), holds no command but the action's own.
import { describe, expect, it } from 'vitest'
import {
  MAX_ECHO_LINE_CHARS,
  echoLines,
  echoText,
  guardCommands,
  ownText,
  readableAsCommand
} from '../../../src/shared/echo.js'
import { consoleLog } from '../../../src/shared/log.js'
import { runnerCommands } from '../../helpers/action-runner.js'

/** Text a builder, a trace, the guest or a test command might print. */
const HOSTILE = [
  '::warning title=X::injected',
  '  ::error::indented',
  '\t::error::after a tab',
  'a\r::warning title=X::b',
  'a\r\n::error::y',
  '\u0085::warning::after NEL',
  '\u00a0::warning::after NBSP',
  '::save-state name=image-cache::{}',
  '::warning::a%0A::error::b',
  'x ##[warning]legacy, mid-line',
  '##[save-state name=image-cache]{}',
  '::stop-commands::guess',
  '::guess::',
  '::add-mask::aaaa',
  '::group::fake group',
  '\u001b[31m::error::coloured\u001b[0m',
  '\u0000::error::after NUL'
]

describe('echo', () => {
  it.each(HOSTILE.map(text => [JSON.stringify(text), text]))(
    'prints %s with no command the runner would obey',
    (_name, text) => {
      const printed = echoText('test', text).join('\n')
      expect(runnerCommands(printed)).toEqual([])
      // Each of the text's lines is still there, whole, after its label.
      for (const line of text.split(/\r\n|\r|\n/)) {
        // eslint-disable-next-line no-control-regex
        const visible = line.replace(/\u001b\[[0-9;]*m/g, '').replace(/[\u0000\u0085]/g, '')
        expect(printed).toContain(`[test] ${visible}`)
      }
    }
  )

  it('the oracle would have obeyed those lines printed as they are', () => {
    // Without the guard, most of them are commands: the test above can fail.
    const raw = runnerCommands(HOSTILE.join('\n'))
    expect(raw.map(c => c.name)).toEqual(
      expect.arrayContaining(['warning', 'error', 'save-state', 'add-mask', 'group'])
    )
    expect(raw.length).toBeGreaterThanOrEqual(10)
  })

  it('splits at \\r\\n, \\r and \\n, drops a final empty line, keeps tabs', () => {
    expect(echoLines('a\r\nb\rc\nd\n')).toEqual(['a', 'b', 'c', 'd'])
    expect(echoLines('col1\tcol2')).toEqual(['col1\tcol2'])
    expect(echoLines('')).toEqual([''])
  })

  it('strips control characters and whole terminal escape sequences', () => {
    expect(echoLines('\u001b[1;31merror:\u001b[0m bell\u0007 del\u007f c1\u009b end')).toEqual([
      'error: bell del c1 end'
    ])
  })

  it('caps each line and says where it was cut', () => {
    const [line] = echoLines('x'.repeat(MAX_ECHO_LINE_CHARS + 10))
    expect(line.length).toBeLessThan(MAX_ECHO_LINE_CHARS + 100)
    expect(line).toContain(`cut at ${MAX_ECHO_LINE_CHARS} of ${MAX_ECHO_LINE_CHARS + 10}`)
  })

  it('wraps only the lines a runner could read, each with a fresh token', () => {
    let n = 0
    const out = guardCommands(['plain', '::warning::w', 'x ##[error]e'], () => `t${++n}`)
    expect(out).toEqual([
      'plain',
      '::stop-commands::t1',
      '::warning::w',
      '::t1::',
      '::stop-commands::t2',
      'x ##[error]e',
      '::t2::'
    ])
  })

  it('never uses a token the line itself contains', () => {
    const tokens = ['abc', 'abc', 'def']
    const out = guardCommands(['::abc::'], () => tokens.shift()!)
    expect(out[0]).toBe('::stop-commands::def')
    expect(runnerCommands(out.join('\n'))).toEqual([])
  })

  it('random tokens: unguessable and different each time', () => {
    const first = guardCommands(['::warning::a'])[0]
    const second = guardCommands(['::warning::a'])[0]
    expect(first).toMatch(/^::stop-commands::[0-9a-f]{32}$/)
    expect(first).not.toBe(second)
  })

  it('ordinary lines print as they are', () => {
    expect(readableAsCommand('building /nix/store/x.drv')).toBe(false)
    expect(readableAsCommand('inet6 fe80::1/64 scope link')).toBe(false)
    expect(echoText('vm +1.0s', 'Welcome')).toEqual(['[vm +1.0s] Welcome'])
  })
})

describe("the action's own messages (log.info) are guarded too", () => {
  it('a message quoting untrusted text with \\r holds no command', () => {
    const printed = ownText('QEMU passed over: apt said a\r::warning::b').join('\n')
    expect(runnerCommands(printed)).toEqual([])
    expect(printed).toContain('::warning::b')
  })
})

describe('consoleLog (the command line) splits and guards the same way', () => {
  it('writes one line per line, labelled, with no command', () => {
    const lines: string[] = []
    const log = consoleLog(line => lines.push(line))
    log.echo('test', 'a\r::warning title=X::b\nc')
    log.info('own\r::error::quoted')
    expect(lines.filter(l => l.startsWith('[test] '))).toEqual([
      '[test] a',
      '[test] ::warning title=X::b',
      '[test] c'
    ])
    expect(runnerCommands(lines.join('\n'))).toEqual([])
  })
})
