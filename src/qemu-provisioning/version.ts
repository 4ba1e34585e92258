// `qemu-system-<arch> --version` read, and what its run says of the binary. Pure.
//   QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)   Debian and Ubuntu
//   QEMU emulator version 8.2.4                                        nixpkgs, upstream builds
//   QEMU emulator version 2.7.0, Copyright (c) 2003-2016 Fabrice …    2.x: the copyright after a comma
//   QEMU emulator version 9.0.50 (v9.0.0-1388-g80e8f06021-dirty)       a build from git

import type { RunResult } from '../shared/process.js'
import { lastError } from './plan.js'

const VERSION = /QEMU emulator version\s+(\d+(?:\.\d+)*(?:[-+~][\w.+~-]*)?(?: \([^)\n]*\))?)/

/** The version (with the distribution's build in parentheses, when it says one), or undefined. */
export function parseQemuVersion(text: string): string | undefined {
  return VERSION.exec(text)?.[1].trim()
}

/**
 * What one `<binary> --version` run says: the version, why the binary is no QEMU, or that the run
 * was stopped (a provisioning nobody needs any more): a killed run prints nothing, and that says
 * nothing of the binary.
 */
export function readVersionProbe(
  binary: string,
  probe: RunResult
): { version: string } | { reason: string } | { stopped: string } {
  if (probe.aborted) return { stopped: `stopped while \`${binary} --version\` ran` }
  const version = parseQemuVersion(probe.stdout)
  if (probe.exitCode === 0 && version) return { version }
  const said = probe.startError ?? lastError(`${probe.stdout}\n${probe.stderr}`)
  return { reason: `${binary} --version did not name a QEMU version (${said})` }
}
