import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  actionsLog
} from "./chunk-SNAIBZAT.js";
import {
  addPath,
  exportVariable,
  getInput,
  getState,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  summary
} from "./chunk-3BV2LLEE.js";

// src/runner/port.ts
var actionsRunner = {
  getInput: (name) => getInput(name),
  saveState: (name, value) => saveState(name, value),
  getState: (name) => getState(name),
  setOutput: (name, value) => setOutput(name, value),
  setSecret: (value) => setSecret(value),
  writeSummary: async (markdown) => {
    await summary.addRaw(markdown).write();
  },
  exportVariable: (name, value) => exportVariable(name, value),
  addPath: (dir) => addPath(dir),
  setFailed: (message) => setFailed(message),
  onCancel: (listener) => {
    process.once("SIGINT", listener);
    process.once("SIGTERM", listener);
  },
  log: actionsLog,
  env: process.env
};

// src/runner/state.ts
var STATE = {
  reportDir: "report-dir",
  keyDir: "key-dir",
  cleanupPaths: "cleanup-paths",
  qemuPid: "qemu-pid",
  /** The image cache entry post saves (CacheSaveState as JSON). */
  imageCache: "image-cache",
  /** baseline.json of a passing run, and the cache key post saves it under. */
  baselineFile: "baseline-file",
  baselineKey: "baseline-key",
  /** Main received the runner's cancel (SIGINT or SIGTERM). */
  cancelled: "cancelled",
  /** Main delivered the report (files, artifact, job summary): post need not. */
  delivered: "report-delivered"
};

export {
  actionsRunner,
  STATE
};
