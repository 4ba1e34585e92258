// Build failures that are the machine's, not the flake's: Nix could not start a builder (no
// pseudoterminal), reach its daemon, or write for lack of disk, or the daemon went away mid-build.
// Told apart from evaluation errors (which they look like when no builder ran: one `error:` line)
// so the report says what the machine lacks instead of blaming the user's Nix code.
// Pure functions over text (recorded transcripts: tests/fixtures/transcripts/nix-2.8-machine-*).
import { stripAnsi } from './failures.js'

export interface MachineFailure {
  /** What the machine lacks, and how to give it that: one sentence for the report. */
  lacks: string
  /** The line Nix printed. */
  evidence: string
}

interface Rule {
  pattern: RegExp
  lacks: (match: RegExpExecArray) => string
}

const RULES: Rule[] = [
  {
    pattern: /opening pseudoterminal (?:master|slave)[^\n]*/,
    lacks: () =>
      'a pseudoterminal for the builder: /dev/pts is not mounted (devpts). Nix opens one for ' +
      'every build; in a chroot or container, mount devpts on /dev/pts (bind-mount the host’s)'
  },
  {
    pattern: /cannot connect to socket at '([^']*)': ([^\n]*)/,
    lacks: match =>
      `a running Nix daemon: nothing answers at ${match[1]} (${match[2].trim()}). Start ` +
      `nix-daemon (e.g. \`sudo systemctl start nix-daemon\`), or, for a single-user Nix, do not ` +
      `point NIX_REMOTE or the \`store\` setting at the daemon`
  },
  {
    pattern: /[^\n]*No space left on device[^\n]*/,
    lacks: () =>
      'free disk space: the Nix store (/nix) or the build’s temporary directory (TMPDIR) is ' +
      'full. Free space (on GitHub runners, remove preinstalled toolchains you do not use) or ' +
      'use a runner with a larger disk'
  },
  {
    // 2.8: "unexpected end-of-file"; later: "Nix daemon disconnected unexpectedly (maybe it crashed?)".
    pattern:
      /[^\n]*(?:daemon disconnected unexpectedly|^(?:error: )?unexpected end-of-file$)[^\n]*/m,
    lacks: () =>
      'a Nix daemon that stays up: it disconnected during the build (it crashed or was killed; ' +
      'on runners usually for lack of memory or disk space)'
  }
]

/** What the machine lacks, when Nix's error says the machine (not a derivation) failed. */
export function findMachineFailure(text: string): MachineFailure | undefined {
  const plain = stripAnsi(text)
  for (const rule of RULES) {
    const match = rule.pattern.exec(plain)
    if (match) return { lacks: rule.lacks(match), evidence: match[0].trim() }
  }
  return undefined
}

/** The build's error for the report: what the machine lacks, then Nix's own words. */
export function machineFailureMessage(failure: MachineFailure): string {
  return (
    `This machine could not build (not a fault of the flake or its derivations): it lacks ` +
    `${failure.lacks}. Nix said: ${failure.evidence}`
  )
}
