// Where a build's derivations were built and which paths a substituter served instead, from Nix's
// structured events (`--log-format internal-json`; the activities BuildEvents keeps). Pure.
//
// Measured on Nix 2.8 (tests/fixtures/build-places/): activity 105 (build) has fields
// [drvPath, machine, round, nrRounds], machine "" for this machine and the builder's store URI
// (`ssh-ng://root@127.0.0.2`) for a remote one. A remote build shows twice: this machine's
// activity naming the builder, then the builder's own activity relayed back, whose machine is ""
// (local to the builder) and which carries the log lines. So a named machine wins over "".
// Activity 108 (substitute) has fields [storePath, substituter URI].
import type { BuiltDerivation, SubstitutedPath } from '../model/index.js'

/** What the report says for a derivation built on the machine that ran `nix build`. */
export const LOCAL_MACHINE = 'local'

const BUILD = 105
const SUBSTITUTE = 108

export interface StartedActivity {
  type: number
  fields: readonly unknown[]
}

export interface BuildPlaces {
  /** Every derivation built, in the order its build started. */
  built: BuiltDerivation[]
  /** Every store path substituted, in order. */
  substituted: SubstitutedPath[]
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '')

export function buildPlaces(activities: Iterable<StartedActivity>): BuildPlaces {
  const machines = new Map<string, string>()
  const substituted = new Map<string, string>()
  for (const { type, fields } of activities) {
    if (type === BUILD) {
      const drv = text(fields[0])
      if (!drv) continue
      const machine = text(fields[1])
      if (!machines.get(drv)) machines.set(drv, machine)
    } else if (type === SUBSTITUTE) {
      const path = text(fields[0])
      if (path && !substituted.has(path)) substituted.set(path, text(fields[1]))
    }
  }
  return {
    built: [...machines].map(([drv, machine]) => ({ drv, machine: machine || LOCAL_MACHINE })),
    substituted: [...substituted].map(([path, from]) => ({ path, from }))
  }
}

/**
 * The machine a failed derivation failed on: the one Nix's error named (a remote builder), else
 * where its build ran; undefined when it never started (e.g. no machine has its features).
 */
export function failedOn(
  failure: { drv: string; machine?: string },
  built: readonly BuiltDerivation[]
): string | undefined {
  return failure.machine ?? built.find(entry => entry.drv === failure.drv)?.machine
}
