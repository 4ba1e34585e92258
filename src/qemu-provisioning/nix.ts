// The nix source: the guest's QEMU and its UEFI firmware from the nixpkgs that the user's own flake locks, built (in
// practice substituted) with the setup stage's Nix and configuration.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { StageContext } from '../shared/context.js'
import type { NixInstallation } from '../model/index.js'
import { MAX_QUERY_BYTES, run } from '../shared/process.js'
import { isNative, qemuBinary, usesUefi } from '../vm/index.js'
import { hasNixpkgsInput, nixQemuArgs, nixQemuAttribute, parseBuildOutputs } from './nix-output.js'
import { lastError, type QemuTarget, type SourceResult } from './plan.js'
import { allowedEnv } from '../shared/child-env.js'

export async function fromNix(
  nix: NixInstallation,
  request: QemuTarget & { flake: string },
  ctx: StageContext,
  signal: AbortSignal
): Promise<SourceResult> {
  const env = allowedEnv(ctx, nix.env)
  // Cheap, and it must come first: without a nixpkgs input, --inputs-from would quietly take the
  // registry's nixpkgs, unpinned.
  const metadata = await run(
    nix.nixPath,
    ['flake', 'metadata', '--json', '--no-write-lock-file', request.flake],
    { env, signal, maxBytes: MAX_QUERY_BYTES }
  )
  if (metadata.aborted) return { reason: 'stopped while nix flake metadata ran', stopped: true }
  if (metadata.exitCode !== 0) {
    return {
      reason: `could not read the flake's inputs (nix flake metadata ${request.flake}): ${
        metadata.startError ?? lastError(metadata.stderr)
      }`
    }
  }
  const has = hasNixpkgsInput(metadata.stdout)
  if (has === undefined)
    return { reason: `nix flake metadata printed no lock for ${request.flake}` }
  if (!has) return { reason: `the flake ${request.flake} has no nixpkgs input` }

  const args = nixQemuArgs(
    request.flake,
    request.firmware,
    nix.capabilities.printOutPaths,
    request.arch,
    isNative(request.arch)
  )
  ctx.log.info(`QEMU (nix): ${nix.nixPath} ${args.join(' ')}`)
  const built = await run(nix.nixPath, args, { env, signal })
  if (built.aborted) return { reason: 'stopped while nix build ran', stopped: true }
  if (built.exitCode !== 0) {
    return {
      reason: `nix ${args.slice(0, 5).join(' ')} failed: ${built.startError ?? lastError(built.stderr)}`
    }
  }
  return fromOutputs(parseBuildOutputs(built.stdout, nix.capabilities.printOutPaths), request)
}

/** The guest's QEMU binary and UEFI firmware among what nix build gave. */
function fromOutputs(outputs: string[], target: QemuTarget): SourceResult {
  const name = qemuBinary(target.arch)
  const attribute = `nixpkgs#${nixQemuAttribute(isNative(target.arch))}`
  const qemu = outputs.find(out => existsSync(join(out, 'bin', name)))
  if (!qemu) {
    return { reason: `${attribute} has no bin/${name} (outputs: ${outputs.join(', ') || 'none'})` }
  }
  const binary = join(qemu, 'bin', name)
  if (!usesUefi(target.arch, target.firmware)) return { binary, detail: qemu }
  // A PC's OVMF is its own package (OVMF.fd); arm64's firmware comes with QEMU itself.
  const [from, roots, code, vars] =
    target.arch === 'aarch64'
      ? [attribute, [qemu], 'share/qemu/edk2-aarch64-code.fd', 'share/qemu/edk2-arm-vars.fd']
      : ['nixpkgs#OVMF.fd', outputs, 'FV/OVMF_CODE.fd', 'FV/OVMF_VARS.fd']
  const root = roots.find(out => existsSync(join(out, code)) && existsSync(join(out, vars)))
  if (!root) return { reason: `${from} has no ${code} and ${vars}` }
  return { binary, ovmf: { code: join(root, code), vars: join(root, vars) }, detail: qemu }
}
