// Beside setup and the build, QEMU provisioning: QEMU and OVMF for the run, from the sources the
// `qemu` input allows (PATH, the user's flake's nixpkgs, apt). Returns a QemuProvision (the binary
// every QEMU of the run starts from, the firmware, each source tried and why one was passed
// over); never throws: no QEMU is a result.
export { provisionQemu, qemuFromPath, type QemuRequest, type QemuSignals } from './stage.js'
export { judgeQemu } from './judge.js'
