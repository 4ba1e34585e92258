// What a failed `nix build` means, read from what Nix printed: the machine's fault (no sandbox,
// no disk, no builder, a broken store), derivations whose builders failed (the flake's), the
// evaluator's error, or nothing Nix explained. Pure: explainFailure (stage.ts) acts on it, and
// the corpus of real logs (tests/fixtures/real/nix) is held to it.
import { isEvaluationError } from './evaluation-errors.js'
import { findDependents, type ParsedFailure } from './failures.js'
import { findMachineFailure, unreachableBuilder, type MachineFailure } from './machine-failures.js'

export type NixVerdict =
  | { kind: 'machine'; failure: MachineFailure }
  | { kind: 'derivations'; roots: ParsedFailure[]; dependents: string[] }
  | { kind: 'evaluation' }
  | { kind: 'unexplained'; dependents: string[] }

export interface VerdictOptions {
  /** A derivation started building (then the error is not the evaluator's). */
  startedBuilding: boolean
  /** The job was cancelled: whatever failed, the machine is not to blame for it. */
  cancelled?: boolean
}

/** Old Nix printed a failed sandbox set-up into the builder's log, then "builder … failed". */
const SET_UP = /while setting up the build environment|getting sandbox (?:mount|user) namespace/

/** The machine behind root failures: a builder nobody reached, or a sandbox never set up. */
function machineBehind(text: string, roots: readonly ParsedFailure[]): MachineFailure | undefined {
  const reasons = roots.map(root => root.reason)
  return (
    unreachableBuilder(text, reasons) ?? (SET_UP.test(text) ? findMachineFailure(text) : undefined)
  )
}

/**
 * The verdict on Nix's error text, given the root failures found in it (buildImage also reads
 * them from the events, with the build each error belongs to).
 */
export function judgeNixFailure(
  text: string,
  roots: readonly ParsedFailure[],
  options: VerdictOptions
): NixVerdict {
  const dependents = findDependents(text).filter(drv => !roots.some(root => root.drv === drv))
  if (!options.cancelled) {
    const machine = roots.length ? machineBehind(text, roots) : findMachineFailure(text)
    if (machine) return { kind: 'machine', failure: machine }
  }
  if (roots.length) return { kind: 'derivations', roots: [...roots], dependents }
  const started = options.startedBuilding || options.cancelled
  if (!started && isEvaluationError(text)) return { kind: 'evaluation' }
  return { kind: 'unexplained', dependents }
}
