// Nix's own split of a derivation name into name and version, as `nix-env`'s parseDrvName does
// (libexpr names.cc): the version starts after the first `-` that is followed by a character that
// is not a letter. "systemd-256.2" → systemd, 256.2; "perl5.38.2-XML-Parser-2.46" →
// perl5.38.2-XML-Parser, 2.46; "util-linux-minimal-2.39-bin" → util-linux-minimal, 2.39-bin. Pure.

export interface DrvName {
  name: string
  /** "" when the name has no version. */
  version: string
}

/** ASCII letters only, as C's isalpha in the "C" locale Nix runs in. */
function isLetter(code: number): boolean {
  const lower = code | 0x20
  return lower >= 0x61 && lower <= 0x7a
}

export function parseDrvName(full: string): DrvName {
  for (let i = 0; i + 1 < full.length; i++) {
    if (full.charCodeAt(i) === 0x2d && !isLetter(full.charCodeAt(i + 1))) {
      return { name: full.slice(0, i), version: full.slice(i + 1) }
    }
  }
  return { name: full, version: '' }
}

/** A store path's (or a key's) base name without its hash: "/nix/store/<32>-hello-2.12.drv" → "hello-2.12.drv". */
export function storeName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return /^[0-9a-z]{32}-/.test(base) ? base.slice(33) : base
}

// One pass over the name (a graph has tens of thousands): sources and archives, patches and
// scripts at the end; stdenv, bootstrap, builders and mirror lists at the start; hooks anywhere.
const BUILD_NOISE =
  /(?:-source|^source|\.(?:tar(?:\.[a-z0-9]+)?|tgz|tbz2?|txz|zip|gem|jar|whl|crate|deb|rpm|patch|diff|sh|bash|py|pl|nix|lock|json))$|^(?:stdenv-|bootstrap-|builder\.|mirrors-list)|-bootstrap|(?:^|-)hooks?(?:$|-)/i

/**
 * Build noise, kept apart from what the image holds: sources and their archives, patches,
 * bootstrap tools, stdenv itself, setup hooks and builder scripts. Fixed-output derivations
 * (fetches) are noise too, decided by the caller from the derivation.
 */
export function isBuildNoise(fullName: string): boolean {
  return BUILD_NOISE.test(fullName)
}
