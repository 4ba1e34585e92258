import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);

// src/state.ts
var STATE = {
  reportDir: "report-dir",
  keyDir: "key-dir",
  cleanupPaths: "cleanup-paths",
  qemuPid: "qemu-pid"
};

export {
  STATE
};
