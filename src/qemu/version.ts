// `qemu-system-x86_64 --version` read. Pure.
//   QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)   Debian and Ubuntu
//   QEMU emulator version 8.2.4                                        nixpkgs, upstream builds

const VERSION = /QEMU emulator version\s+(\d+(?:\.\d+)*\S*(?:\s+\([^)]*\))?)/

/** The version (with the distribution's build in parentheses, when it says one), or undefined. */
export function parseQemuVersion(text: string): string | undefined {
  return VERSION.exec(text)?.[1].trim()
}
