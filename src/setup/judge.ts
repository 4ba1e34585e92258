// The setup stage's line in the stage table: which Nix, and what happened to the KVM device.
import type { SetupResult, StageJudgement } from '../model/index.js'

export function judgeSetup(result: SetupResult): StageJudgement {
  return {
    status: result.ok ? 'passed' : 'failed',
    detail: result.ok
      ? `${result.nix?.variant} ${result.nix?.version} (${result.nix?.storeMode}); KVM device: ${result.kvm.action}`
      : (result.error ?? 'failed')
  }
}
