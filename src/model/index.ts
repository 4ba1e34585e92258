// The model: the typed results each stage returns, report.json's shape, and the input choices the
// stages act on. Types only; everything outside src/model/ imports them from here.
export type * from './results.js'
export type * from './choices.js'
export type * from './comparison.js'
export type * from './image-changes.js'
export type * from './qemu-provision.js'
export type * from './vm-result.js'
