// The nix source: QEMU and OVMF from the nixpkgs that the user's own flake locks, built (in
// practice substituted) with the setup stage's Nix and configuration.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { StageContext } from '../context.js'
import type { Firmware } from '../inputs.js'
import type { NixInstallation } from '../model.js'
import { MAX_QUERY_BYTES, run } from '../process.js'
import { QEMU_BINARY } from '../vm/index.js'
import { hasNixpkgsInput, nixQemuArgs, parseBuildOutputs } from './nix-output.js'
import { lastError, type SourceResult } from './plan.js'
import { allowedEnv } from '../child-env.js'

export async function fromNix(
  nix: NixInstallation,
  request: { flake: string; firmware: Firmware },
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

  const args = nixQemuArgs(request.flake, request.firmware, nix.capabilities.printOutPaths)
  ctx.log.info(`QEMU (nix): ${nix.nixPath} ${args.join(' ')}`)
  const built = await run(nix.nixPath, args, { env, signal })
  if (built.aborted) return { reason: 'stopped while nix build ran', stopped: true }
  if (built.exitCode !== 0) {
    return {
      reason: `nix ${args.slice(0, 5).join(' ')} failed: ${built.startError ?? lastError(built.stderr)}`
    }
  }
  const outputs = parseBuildOutputs(built.stdout, nix.capabilities.printOutPaths)
  const qemu = outputs.find(out => existsSync(join(out, 'bin', QEMU_BINARY)))
  if (!qemu) {
    return {
      reason: `nixpkgs#qemu_kvm has no bin/${QEMU_BINARY} (outputs: ${outputs.join(', ') || 'none'})`
    }
  }
  const binary = join(qemu, 'bin', QEMU_BINARY)
  if (request.firmware !== 'uefi') return { binary, detail: qemu }
  const fv = (out: string, file: string): string => join(out, 'FV', file)
  const fd = outputs.find(
    out => existsSync(fv(out, 'OVMF_CODE.fd')) && existsSync(fv(out, 'OVMF_VARS.fd'))
  )
  if (!fd) return { reason: `nixpkgs#OVMF.fd has no FV/OVMF_CODE.fd and FV/OVMF_VARS.fd` }
  return {
    binary,
    ovmf: { code: fv(fd, 'OVMF_CODE.fd'), vars: fv(fd, 'OVMF_VARS.fd') },
    detail: qemu
  }
}
