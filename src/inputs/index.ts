// The inputs: one typed, validated Inputs object (parse.ts), or an InputError that names the input
// and what it accepts. The choices they carry (Firmware, QemuMode, …) are the model's.
export { INPUT_DEFAULTS, parseInputs, type InputName, type Inputs } from './parse.js'
export { DEFAULT_PROBES, parseProbes } from './probe-input.js'
export { InputError } from './errors.js'
