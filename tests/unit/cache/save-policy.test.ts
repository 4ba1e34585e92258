// Which events save the image cache (input cache-save; src/cache/save-policy.ts).
import { describe, expect, it } from 'vitest'
import { cacheSaveRefusal } from '../../../src/cache/save-policy.js'

describe('cacheSaveRefusal', () => {
  it.each(['pull_request_target', 'workflow_run', 'issue_comment'])(
    'auto: %s does not save, and says why',
    event => {
      expect(cacheSaveRefusal('auto', event)).toMatch(
        new RegExp(`${event} event.*cache-save: auto`)
      )
    }
  )

  it.each(['push', 'schedule', 'workflow_dispatch', 'merge_group', 'pull_request', '', undefined])(
    'auto: %s saves',
    event => {
      expect(cacheSaveRefusal('auto', event)).toBeUndefined()
    }
  )

  it('always saves on every event; never saves on none', () => {
    expect(cacheSaveRefusal('always', 'pull_request_target')).toBeUndefined()
    expect(cacheSaveRefusal('never', 'push')).toBe('cache-save is never')
  })
})
