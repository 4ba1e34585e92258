// Whether this run may save the image cache, by the event that started it (input cache-save).
// The entry's paths are imported unsigned by later runs in the same cache scope; events that run
// code from outside the repository under the default branch's scope must not write that scope.
// Pure.
import type { CacheSaveMode } from '../model/index.js'

/**
 * Events whose runs have the default branch's cache scope while they commonly build a pull
 * request's or another workflow's code. `pull_request` runs get a scope of their own (the pull
 * request's ref), so they save.
 */
export const UNTRUSTED_SAVE_EVENTS = ['pull_request_target', 'workflow_run', 'issue_comment']

/** Why this run must not save, or undefined when it may. */
export function cacheSaveRefusal(
  mode: CacheSaveMode,
  event: string | undefined
): string | undefined {
  if (mode === 'never') return 'cache-save is never'
  if (mode === 'always' || !event || !UNTRUSTED_SAVE_EVENTS.includes(event)) return undefined
  return (
    `not saved on a ${event} event: it may build code from outside the repository into the ` +
    "default branch's cache scope (cache-save: auto; 'always' saves anyway)"
  )
}
