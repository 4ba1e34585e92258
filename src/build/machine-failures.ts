// Build failures that are the machine's, not the flake's: Nix could not start a builder (no
// pseudoterminal, a build sandbox it cannot set up), reach its daemon or a remote builder, or
// write for lack of disk, or the daemon went away mid-build.
// Told apart from evaluation errors (which they look like when no builder ran: one `error:` line)
// so the report says what the machine lacks instead of blaming the user's Nix code.
// Pure functions over text (recorded transcripts: tests/fixtures/transcripts/nix-*-machine-*).
import { nixText } from './failures.js'

export interface MachineFailure {
  /** What the machine lacks, and how to give it that: one sentence for the report. */
  lacks: string
  /** The line Nix printed. */
  evidence: string
}

interface Rule {
  pattern: RegExp
  lacks: (match: RegExpExecArray) => string
  /** The line to quote, when it is not the whole match. */
  evidence?: (match: RegExpExecArray) => string
}

/** What ssh printed when it could not connect (Nix passes its stderr through). */
function sshSaid(text: string): string | undefined {
  const line =
    /^(?:ssh: [^\n]*|Host key verification failed\.|[^\n]*Permission denied \([^)]*\)\.?)$/m
  return line.exec(text)?.[0].trim()
}

/** The whole line around `index` (the evidence to quote), found without a regex. */
function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index) + 1
  const end = text.indexOf('\n', index)
  return text.slice(start, end < 0 ? text.length : end)
}

const UNREACHABLE: Rule = {
  // A builder nothing can reach (2.8: ssh's own line, then this; its "unexpected end-of-file" is
  // ssh closing, not a daemon dying; later: "cannot build on '<uri>'", "failed to start SSH
  // connection to '<host>'"). Nix then says only "unable to start any build; remote machines
  // may not have all required system features" (max-jobs 0), "Failed to find a machine for
  // remote build!", or blames the derivation's features (a feature only the builder has): see
  // unreachableBuilder.
  pattern:
    /(?:cannot open connection to remote store|cannot build on|failed to start SSH connection to) '([^'\n]*)'|^Failed to find a machine for remote build!$/m,
  evidence: match =>
    [lineAround(match.input, match.index), sshSaid(match.input)]
      .filter(Boolean)
      .join(' — ssh said: '),
  lacks: match =>
    `a remote builder it can reach: ${match[1] ? `the builder ${match[1]}` : 'a builder'} could ` +
    `not be reached (Nix could not open a connection to it), so no machine could take the build (Nix's "remote ` +
    `machines may not have all required system features" means this here). Check the ` +
    `builder's host key (the builders entry's last field, base64 of "<type> <key>", or ` +
    `known_hosts), the private key path in the builders entry (readable by whoever builds: ` +
    `the nix-daemon's root on a multi-user install), and that sshd runs there and listens; ` +
    `for a port other than 22 set NIX_SSHOPTS="-p <port>"`
}

const RULES: Rule[] = [
  {
    pattern: /opening pseudoterminal (?:master|slave)[^\n]*/,
    lacks: () =>
      'a pseudoterminal for the builder: /dev/pts is not mounted (devpts). Nix opens one for ' +
      'every build; in a chroot or container, mount devpts on /dev/pts (bind-mount the host’s)'
  },
  {
    // 2.0–2.3: "cannot connect to daemon at"; later "cannot connect to socket at".
    pattern: /cannot connect to (?:socket|daemon) at '([^'\n]*)': ([^\n]*)/,
    lacks: match =>
      `a running Nix daemon: nothing answers at ${match[1]} (${match[2].trim()}). Start ` +
      `nix-daemon (e.g. \`sudo systemctl start nix-daemon\`), or, for a single-user Nix, do not ` +
      `point NIX_REMOTE or the \`store\` setting at the daemon`
  },
  {
    pattern: /No space left on device/,
    evidence: match => lineAround(match.input, match.index),
    lacks: () =>
      'free disk space: the Nix store (/nix) or the build’s temporary directory (TMPDIR) is ' +
      'full. Free space (on GitHub runners, remove preinstalled toolchains you do not use) or ' +
      'use a runner with a larger disk'
  },
  UNREACHABLE,
  {
    // The store's database does not list a path something needs: deleted by hand, an interrupted
    // copy, a broken store (or Nix 2.18.0's regression). Never the flake's evaluation.
    pattern: /path '(\/[^'\n]*)' is not valid/,
    lacks: match =>
      `a consistent Nix store: ${match[1]} is not valid (the store's database does not list it). ` +
      `Repair the store (\`nix-store --verify --check-contents --repair\`), or realise the path ` +
      `again (\`nix-store --realise <path>\`); on a runner, start from a fresh store`
  },
  {
    // 2.8: "unexpected end-of-file"; later: "Nix daemon disconnected unexpectedly (maybe it crashed?)".
    pattern: /daemon disconnected unexpectedly|^(?:error: )?unexpected end-of-file$/m,
    evidence: match => lineAround(match.input, match.index),
    lacks: () =>
      'a Nix daemon that stays up: it disconnected during the build (it crashed or was killed; ' +
      'on runners usually for lack of memory or disk space)'
  },
  // The sandbox rules come after the ones above: a pty or disk failure inside the sandbox set-up
  // is better said by them.
  {
    // Nix stats every sandbox path before binding it; 2.8 says only this, 2.26 adds the context.
    pattern: /getting attributes of path '([^'\n]*)'[^\n]*/,
    lacks: match =>
      `the sandbox path ${match[1]}: sandbox-paths or extra-sandbox-paths (nix.conf) lists it, but ` +
      `it does not exist here. Create it, drop it from the setting, or mark it optional ` +
      `(\`${match[1]}?\`)`
  },
  {
    // 2.26 copies a sandbox path that is a symlink (merged /usr: /bin -> usr/bin) as a symlink,
    // dangling in the chroot, so a path bound inside it (the default /bin/sh) cannot be made.
    pattern: /creating directory '[^'\n]*\.drv\.chroot\/root(\/[^'\n]*)'[^\n]*/,
    lacks: match =>
      `a sandbox path Nix can bind at ${match[1]}: it could not create it in the build's chroot. ` +
      `Usually a sandbox path that is a symlink here (merged /usr: /bin -> usr/bin) holding ` +
      `another one (Nix's default /bin/sh); list it by its target (\`${match[1]}=<target>\`, e.g. ` +
      `\`/bin=/usr/bin\`)`
  },
  {
    pattern: /bind mount from '([^'\n]*)' to '([^'\n]*)' failed[^\n]*/,
    lacks: match =>
      `a sandbox path Nix can bind: binding ${match[1]} into the build's chroot failed. Fix or ` +
      `drop it in sandbox-paths / extra-sandbox-paths (nix.conf)`
  },
  {
    // The builder's own program cannot run here: built for another CPU (2.2 said this in the
    // build environment's set-up; later Nix says the same through the builder's exit).
    pattern: /while setting up the build environment: executing '([^'\n]*)': Exec format error/,
    lacks: match =>
      `a CPU (or emulation) that runs the derivation's programs: ${match[1]} is built for another ` +
      `platform (Exec format error). Build for this machine's system, or register binfmt ` +
      `emulation for that one (NixOS: boot.binfmt.emulatedSystems)`
  },
  {
    // Nix opens the namespaces of the builder it cloned; in proot or a container without them
    // this fails before any set-up message (2.4–2.34: "getting sandbox mount namespace").
    pattern: /getting sandbox (?:mount|user) namespace[^\n]*/,
    lacks: () =>
      'a build sandbox Nix can set up (mount and user namespaces): Nix could not open the ' +
      "sandboxed builder's namespace, before any builder ran. In a container or proot without " +
      'those privileges, set `sandbox = false`'
  },
  {
    // Whatever else failed before the builder ran (namespaces, mounts, seccomp, host name): Nix
    // wraps it in this context. The evidence is the error it wraps.
    pattern:
      /while setting up the build environment(?::[^\S\n]*([^\n]*)|[^\S\n]*\n(?:[^\S\n]*\n)?[^\S\n]*(error: [^\n]*))/,
    evidence: match => `while setting up the build environment: ${match[1] ?? match[2]}`,
    lacks: () =>
      'a build sandbox Nix can set up (mount and user namespaces, the sandbox paths): Nix failed ' +
      'while setting up the build environment, before any builder ran. In a container without ' +
      'those privileges, set `sandbox = false`'
  }
]

/**
 * A builder that could not be reached, when every root failure is only that no machine here has
 * the derivation's system or features (the builder that has them was the one unreachable).
 */
export function unreachableBuilder(
  text: string,
  reasons: readonly string[]
): MachineFailure | undefined {
  const onlyNoMachine = reasons.every(reason =>
    /^(?:missing system features|platform mismatch|required system or feature)/.test(reason)
  )
  if (!reasons.length || !onlyNoMachine) return undefined
  const match = UNREACHABLE.pattern.exec(nixText(text))
  if (!match) return undefined
  return { lacks: UNREACHABLE.lacks(match), evidence: UNREACHABLE.evidence!(match).trim() }
}

/** What the machine lacks, when Nix's error says the machine (not a derivation) failed. */
export function findMachineFailure(text: string): MachineFailure | undefined {
  const plain = nixText(text)
  for (const rule of RULES) {
    const match = rule.pattern.exec(plain)
    if (match)
      return { lacks: rule.lacks(match), evidence: (rule.evidence?.(match) ?? match[0]).trim() }
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
