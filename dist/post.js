import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  saveBaseline
} from "./chunks/chunk-CQJFVJO2.js";
import {
  actionsLog,
  cacheSaveLine,
  cleanupSetup,
  errorMessage,
  renderSummary,
  saveImageCache,
  writeReportFiles
} from "./chunks/chunk-VK5SQI6Y.js";
import {
  getState,
  info,
  summary,
  warning
} from "./chunks/chunk-3BV2LLEE.js";

// src/post.ts
import { rmSync } from "node:fs";

// src/cache/post-save.ts
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
async function saveImageCacheFromState(rawState, reportDir, log) {
  if (!rawState) return;
  try {
    const save = await saveImageCache(JSON.parse(rawState), log);
    const file = reportDir ? join(reportDir, "report.json") : "";
    if (file && existsSync(file)) {
      const report = JSON.parse(readFileSync(file, "utf8"));
      if (report.cache) {
        report.cache.save = save;
        writeReportFiles(reportDir, report, renderSummary(report));
      }
    }
    await summary.addRaw(`### Image cache

${cacheSaveLine(save)}
`).write();
  } catch (error) {
    log.warning(`Image cache save: ${errorMessage(error)}`);
  }
}

// src/vm/leftover.ts
import { readFileSync as readFileSync2 } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
function isQemuProcess(pid) {
  try {
    return readFileSync2(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].includes("qemu-system");
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
  await saveImageCacheFromState(
    getState(STATE.imageCache),
    getState(STATE.reportDir),
    actionsLog
  );
  const baselineFile = getState(STATE.baselineFile);
  const baselineKey = getState(STATE.baselineKey);
  if (baselineFile && baselineKey) {
    info(`Baseline: ${await saveBaseline(baselineFile, baselineKey, actionsLog)}`);
  }
}

// src/post-index.ts
await run();
process.exit(0);
