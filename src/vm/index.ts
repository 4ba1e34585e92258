// Stage 4, the VM: check KVM, boot the image in QEMU, wait for SSH, run the probes and the test
// command, take screenshots, always tear QEMU down. Returns a VmStageResult (the boot, each
// probe, the test); a failed boot is a result (status: 'failed'), never a throw.
export { runVm, type VmRequest } from './stage.js'
export { checkKvm } from './kvm.js'
export { stopLeftoverQemu } from './leftover.js'
export { findUefiFirmware, type OvmfFiles } from './qemu.js'
export { hostArch, isNative, qemuBinary, usesUefi } from './platform.js'
export { guestPlatform } from './guest.js'
export { judgeVm } from './judge.js'
