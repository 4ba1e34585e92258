import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE
} from "./chunks/chunk-GGXRBJ4D.js";
import {
  cleanupSetup,
  errorMessage,
  getState,
  info,
  warning
} from "./chunks/chunk-5BIUNGTV.js";

// src/post.ts
import { rmSync } from "node:fs";

// src/vm/leftover.ts
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
function isQemuProcess(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].includes("qemu-system");
  } catch {
    return false;
  }
}
async function stopLeftoverQemu(pid, graceMs = 3e3) {
  if (!isQemuProcess(pid)) return "not running";
  process.kill(pid, "SIGTERM");
  for (let waited = 0; waited < graceMs; waited += 100) {
    await sleep(100);
    if (!isQemuProcess(pid)) return "stopped";
  }
  process.kill(pid, "SIGKILL");
  return "killed";
}

// src/post.ts
async function run() {
  try {
    const pid = Number(getState(STATE.qemuPid));
    if (pid > 0) {
      const outcome = await stopLeftoverQemu(pid);
      if (outcome !== "not running") info(`QEMU (pid ${pid}): ${outcome}`);
    }
    const keyDir = getState(STATE.keyDir);
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    const cleanup = getState(STATE.cleanupPaths);
    if (cleanup) cleanupSetup(JSON.parse(cleanup));
  } catch (error) {
    warning(`Post step clean-up: ${errorMessage(error)}`);
  }
}

// src/post-index.ts
await run();
process.exit(0);
