// Types only: the choices the inputs offer that the stages act on (where Nix and QEMU come from,
// the firmware, KVM, what is uploaded, compared and saved). src/inputs/ parses them; stages
// import them from here, never from the inputs.
import type { GuestArch } from './qemu-provision.js'
import type { BuildContext } from './results.js'

/** Where the image is built: one context or both. */
export type BuildIn = BuildContext | 'both'
export type NixMode = 'auto' | 'install' | 'existing'
export type KvmMode = 'auto' | 'require' | 'off'
/** Where QEMU and OVMF come from (src/qemu-provisioning/): auto tries path, then nix, then apt. */
export type QemuMode = 'auto' | 'path' | 'nix' | 'apt'
export type Firmware = 'bios' | 'uefi'
/** The guest's architecture: auto reads it from the ISO (src/iso/iso-arch.ts). */
export type ArchMode = 'auto' | GuestArch
export type UploadMode = 'always' | 'failure' | 'never'
export type CompareMode = 'auto' | 'off'
/** When post saves the image cache: auto skips events that build untrusted code (cache/save-policy.ts). */
export type CacheSaveMode = 'auto' | 'always' | 'never'
