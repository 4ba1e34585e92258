import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  BASELINE_SCHEMA_VERSION,
  TIMED_OUT,
  actionsCache,
  cacheKeyTaken,
  cacheLookup,
  errorMessage,
  parseBaseline,
  quietly,
  withDeadline
} from "./chunk-KBBUKBBU.js";

// src/report/baseline-store.ts
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
var CACHE_PATH = ".boot-image-vm-baseline/baseline.json";
var RESTORE_TIMEOUT_MS = 2e4;
var SAVE_TIMEOUT_MS = 12e4;
function baselineScope(env, image) {
  const repository = env.GITHUB_REPOSITORY;
  const pullRequest = (env.GITHUB_EVENT_NAME ?? "").startsWith("pull_request");
  const branch = pullRequest ? env.GITHUB_BASE_REF : env.GITHUB_REF_NAME || env.GITHUB_REF?.replace(/^refs\/(heads|tags)\//, "");
  if (!repository || !branch) {
    return pullRequest ? "GITHUB_REPOSITORY or GITHUB_BASE_REF is not set" : "GITHUB_REPOSITORY or GITHUB_REF_NAME is not set";
  }
  const arch = { x64: "x86_64", arm64: "aarch64" }[process.arch] ?? process.arch;
  return {
    repository,
    branch,
    saves: !pullRequest,
    flake: image.flake,
    image: image.image,
    firmware: image.firmware ?? "bios",
    system: `${arch}-${process.platform}`,
    runId: env.GITHUB_RUN_ID || String(Date.now()),
    runAttempt: env.GITHUB_RUN_ATTEMPT || "1"
  };
}
function baselineKeyPrefix(scope, version = BASELINE_SCHEMA_VERSION) {
  const flake = createHash("sha256").update(scope.flake).digest("hex").slice(0, 8);
  return [
    `boot-image-vm-baseline-v${version}`,
    scope.repository,
    scope.branch,
    `${scope.image}@${flake}`,
    scope.system,
    ...version >= 2 ? [scope.firmware] : []
  ].map((part) => encodeURIComponent(part)).join("/").concat("/");
}
function baselineKey(scope) {
  return `${baselineKeyPrefix(scope)}${scope.runId}-${scope.runAttempt}`;
}
async function restoreBaseline(scope, log, timeoutMs = RESTORE_TIMEOUT_MS) {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) {
    return { status: "unavailable", detail: "the cache service is not available to this job" };
  }
  const prefix = baselineKeyPrefix(scope);
  rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  try {
    const { found: key, down } = await cacheLookup(
      () => cache.restoreCache([CACHE_PATH], baselineKey(scope), [prefix, baselineKeyPrefix(scope, 1)]),
      timeoutMs
    );
    if (down) {
      log.warning(`The baseline was not restored: ${down}`);
      return { status: "error", detail: `not restored: ${down}`, serviceDown: true };
    }
    if (!key) return { status: "none", detail: `no baseline under ${prefix}` };
    let baseline;
    try {
      baseline = parseBaseline(readFileSync(CACHE_PATH, "utf8"));
    } catch (error) {
      log.warning(`The baseline ${key} is unusable: ${errorMessage(error)}`);
      return { status: "error", key, detail: `the baseline is unusable: ${errorMessage(error)}` };
    }
    return { status: "restored", baseline, key, detail: `restored ${key}` };
  } catch (error) {
    log.warning(`The baseline was not restored: ${errorMessage(error)}`);
    return { status: "error", detail: `not restored: ${errorMessage(error)}` };
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  }
}
async function saveBaseline(file, key, log, timeoutMs = SAVE_TIMEOUT_MS) {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) return "not saved: the cache service is not available";
  const failures = [];
  try {
    mkdirSync(dirname(CACHE_PATH), { recursive: true });
    writeFileSync(CACHE_PATH, readFileSync(file));
    const id = await withDeadline(
      quietly(() => cache.saveCache([CACHE_PATH], key), failures),
      timeoutMs
    );
    if (id === TIMED_OUT) throw new Error(`saving took longer than ${timeoutMs / 1e3} s`);
    if (id === -1 && cacheKeyTaken(failures)) return `not saved: ${key} exists already`;
    if (id === -1) throw new Error(failures.join("; ") || `nothing saved under ${key}`);
    return `saved as ${key}`;
  } catch (error) {
    log.warning(`The baseline was not saved: ${errorMessage(error)}`);
    return `not saved: ${errorMessage(error)}`;
  } finally {
    rmSync(dirname(CACHE_PATH), { recursive: true, force: true });
  }
}

// src/state.ts
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
  baselineScope,
  baselineKey,
  restoreBaseline,
  saveBaseline,
  STATE
};
