// The probes input: a known option with a bad value says the value is wrong and what it accepts;
// only a name that is no option at all is called unknown.
import { describe, expect, it } from 'vitest'
import { InputError, parseProbes } from '../../../src/inputs/index.js'

function refusal(text: string): string {
  try {
    parseProbes(text)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return (error as Error).message
  }
  throw new Error(`parseProbes accepted ${JSON.stringify(text)}`)
}

describe('probe options', () => {
  it.each(['0', '-1', '1.5', 'soon', ''])(
    'timeout=%s is an invalid timeout, not an unknown option',
    value => {
      const message = refusal(`x [timeout=${value}]: true`)
      expect(message).toContain(`Input 'probes': line 1 ('x [timeout=${value}]: true')`)
      expect(message).toContain(`has an invalid timeout '${value}'`)
      expect(message).toContain('a whole number of seconds, 1 or more')
      expect(message).not.toContain('unknown option')
    }
  )

  it('an option that does not exist is still called unknown, with the ones that do', () => {
    expect(refusal('x [sometimes]: true')).toContain(
      "has the unknown option 'sometimes'; use 'optional', 'required' or 'timeout=<seconds>'."
    )
  })

  it('accepts whole seconds, with or without spaces around =', () => {
    const [a, b] = parseProbes('a [timeout=1]: true\nb [optional, timeout = 90]: true')
    expect(a).toMatchObject({ name: 'a', timeoutSeconds: 1, required: true })
    expect(b).toMatchObject({ name: 'b', timeoutSeconds: 90, required: false })
  })
})
