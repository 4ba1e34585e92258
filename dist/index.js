import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  STATE,
  baselineKey,
  baselineScope,
  restoreBaseline
} from "./chunks/chunk-CQJFVJO2.js";
import {
  INPUT_DEFAULTS,
  InputError,
  Secrets,
  actionOutputs,
  annotate,
  currentBaseline,
  missingPaths,
  nixStepEnv,
  parseInputs,
  probeOutputReader,
  runPipeline,
  writeBaselineFile,
  writeBootHistory
} from "./chunks/chunk-CYIH73O6.js";
import {
  actionsArtifact,
  actionsLog,
  annotateComparison,
  compareWithBaseline,
  errorMessage,
  judgeBootTime,
  noComparison,
  renderSummary,
  signalChildren,
  withHistory,
  withTimeout,
  writeReportFiles
} from "./chunks/chunk-VK5SQI6Y.js";
import {
  addPath,
  error,
  exportVariable,
  getInput,
  saveState,
  setFailed,
  setOutput,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-3BV2LLEE.js";

// src/main.ts
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { join as join2 } from "node:path";
import { tmpdir } from "node:os";

// src/report/upload-retry.ts
var UPLOAD_BUDGET_MS = 12e4;
var FINAL = /non-retryable|storage quota|insufficient usage|not currently supported on GHES|No files were found|Invalid|\((?:400|401|403|404|409|422)\)/i;
function retryDelayMs(message, attempt, retryAfterMs2) {
  if (FINAL.test(message)) return void 0;
  const backoff = Math.min(3e4, 2e3 * 2 ** (attempt - 1));
  return Math.max(backoff, retryAfterMs2 ?? 0);
}
function retryAfterMs(logLine) {
  const seconds = [...logLine.matchAll(/"retry-after":\s*"(\d+)"/gi)].map((m) => Number(m[1]));
  return seconds.length ? Math.max(...seconds) * 1e3 : void 0;
}
async function watchingRetryAfter(work) {
  const original = process.stdout.write;
  let seen;
  process.stdout.write = function(chunk, ...rest) {
    if (typeof chunk === "string" && chunk.includes("etry-after")) {
      const ms = retryAfterMs(chunk);
      if (ms !== void 0) seen = Math.max(seen ?? 0, ms);
    }
    return original.call(this, chunk, ...rest);
  };
  try {
    return { value: await work(), retryAfterMs: seen };
  } catch (error2) {
    return { error: error2, retryAfterMs: seen };
  } finally {
    process.stdout.write = original;
  }
}
async function retryWithinBudget(attempt, options) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const started = now();
  for (let n = 1; ; n++) {
    const outcome = await watchingRetryAfter(() => attempt(n));
    if (!("error" in outcome) || outcome.error === void 0) return outcome.value;
    const message = errorMessage(outcome.error);
    const wait = retryDelayMs(message, n, outcome.retryAfterMs);
    const elapsed = now() - started;
    if (wait === void 0) throw outcome.error;
    if (elapsed + wait >= options.budgetMs) {
      const tried = `tried ${n} time${n === 1 ? "" : "s"} over ${Math.round(elapsed / 1e3)} s`;
      throw new Error(`${message} (${tried}, up to the ${options.budgetMs / 1e3} s bound)`);
    }
    options.onRetry(message, wait);
    await sleep(wait);
  }
}

// src/report/artifacts.ts
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
var INVALID_PATH_CHARS = /[":<>|*?\r\n]/;
var INVALID_NAME_CHARS = /[":<>|*?\r\n\\/]/g;
async function uploadReport(options) {
  const { reportDir, name, secrets, log } = options;
  const env = options.env ?? process.env;
  const withheld = [];
  try {
    const entries = await listReport(reportDir);
    const needles = secretNeedles(secrets);
    const files = [];
    const excluded = [];
    for (const entry of entries) {
      if (entry.kind !== "file") {
        excluded.push(`${entry.path} (${entry.kind})`);
        continue;
      }
      const hit = await holdsSecret(reportDir, entry.path, needles);
      if (hit instanceof Error) {
        excluded.push(`${entry.path} (unreadable: ${hit.message})`);
      } else if (hit) {
        withheld.push(entry.path);
      } else if (INVALID_PATH_CHARS.test(entry.path)) {
        excluded.push(`${entry.path} (a character the artifact service refuses)`);
      } else {
        files.push(join(reportDir, entry.path));
      }
    }
    for (const path of withheld) {
      await rm(join(reportDir, path), { force: true });
      log.warning(
        `${path} was withheld from the report artifact and deleted: it contains the value of a secret.`,
        { title: "Report file withheld" }
      );
    }
    if (excluded.length > 0) {
      log.warning(`Left out of the report artifact: ${excluded.join(", ")}.`, {
        title: "Report files left out"
      });
    }
    const withheldNote = withheld.length > 0 ? `; ${count(withheld.length, "file")} withheld (secret)` : "";
    if (files.length === 0) {
      return { status: "skipped", detail: `no files to upload${withheldNote}`, withheld };
    }
    if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
      throw new Error("the runner gave no ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL");
    }
    const timeoutMs = options.timeoutMs ?? UPLOAD_BUDGET_MS;
    const attempt = (n) => uploadUnderFreeName(name, files, reportDir, options.retentionDays, env, log, n);
    const onRetry = (message, waitMs) => log.info(
      `The report upload failed (${secrets.redact(scrubUrls(message))}); trying again in ${Math.ceil(waitMs / 1e3)} s.`
    );
    const uploaded = await withTimeout(
      retryWithinBudget(attempt, { budgetMs: timeoutMs, onRetry }),
      timeoutMs,
      `the results service did not finish the upload within ${Math.round(timeoutMs / 1e3)} s`
    );
    const url = artifactUrl(uploaded.id, env);
    log.info(
      `Report uploaded as artifact "${uploaded.name}" (id ${uploaded.id})${url ? `: ${url}` : ""}`
    );
    return {
      status: "uploaded",
      artifactId: uploaded.id,
      ...url ? { artifactUrl: url } : {},
      detail: `${count(files.length, "file")} (${uploaded.size ?? "?"} bytes zipped) as "${uploaded.name}"${withheldNote}`,
      withheld
    };
  } catch (error2) {
    const message = secrets.redact(scrubUrls(errorMessage(error2)));
    log.warning(`The report was not uploaded: ${message}. It is still in ${reportDir}.`, {
      title: "Report upload failed"
    });
    return { status: "failed", detail: `upload failed: ${message}`, withheld };
  }
}
function artifactNameCandidates(name, env) {
  const clean = (part) => (part ?? "").replace(INVALID_NAME_CHARS, "-").replace(/^[_-]+|[_-]+$/g, "");
  const job = clean(env.GITHUB_JOB);
  const step = clean(env.GITHUB_ACTION);
  const base = [name, job, step].filter(Boolean).join("-");
  const jobRun = jobBackendId(env.ACTIONS_RUNTIME_TOKEN) ?? `${Date.now()}-${Math.random()}`;
  const unique = createHash("sha256").update(jobRun).digest("hex").slice(0, 6);
  return [.../* @__PURE__ */ new Set([name, base, `${base}-${unique}`])];
}
async function listReport(reportDir, prefix = "") {
  const out = [];
  const dirents = await readdir(join(reportDir, prefix), { withFileTypes: true });
  for (const dirent of dirents.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const path = prefix ? `${prefix}/${dirent.name}` : dirent.name;
    if (dirent.isDirectory()) {
      out.push(...await listReport(reportDir, path));
    } else if (dirent.isFile()) {
      out.push({ path, kind: "file" });
    } else if (dirent.isSymbolicLink()) {
      const target = await stat(join(reportDir, path)).catch(() => void 0);
      const kind = !target ? "broken symlink" : target.isFile() ? "file" : target.isDirectory() ? "directory symlink" : "special file";
      out.push({ path, kind });
    } else {
      out.push({ path, kind: "special file" });
    }
  }
  return out;
}
function secretNeedles(secrets) {
  return secrets.values().map((value) => Buffer.from(value, "utf8"));
}
async function holdsSecret(reportDir, path, needles) {
  if (needles.length === 0) return false;
  if (needles.some((needle) => Buffer.from(path).includes(needle))) return true;
  const overlap = Math.max(...needles.map((needle) => needle.length)) - 1;
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(join(reportDir, path))) {
      const window = Buffer.concat([tail, chunk]);
      if (needles.some((needle) => window.includes(needle))) return true;
      tail = window.subarray(Math.max(0, window.length - overlap));
    }
  } catch (error2) {
    return error2 instanceof Error ? error2 : new Error(String(error2));
  }
  return false;
}
async function uploadUnderFreeName(name, files, reportDir, retentionDays, env, log, attempt = 1) {
  const client = new (await actionsArtifact()).DefaultArtifactClient();
  const candidates = artifactNameCandidates(name, env);
  if (attempt > 1) candidates.push(`${candidates[candidates.length - 1]}-retry${attempt}`);
  for (const [index, candidate] of candidates.entries()) {
    try {
      const result = await client.uploadArtifact(candidate, files, reportDir, {
        ...retentionDays ? { retentionDays } : {}
      });
      if (result.id === void 0) throw new Error("the results service returned no artifact id");
      return { id: result.id, size: result.size, name: candidate };
    } catch (error2) {
      const taken = /\(409\)|already exists/i.test(errorMessage(error2));
      if (!taken || index === candidates.length - 1) throw error2;
      log.info(`An artifact named "${candidate}" already exists in this run; trying another name.`);
    }
  }
  throw new Error("no artifact name left to try");
}
function artifactUrl(id, env) {
  const { GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  if (!repository || !runId) return void 0;
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  return `${server}/${repository}/actions/runs/${runId}/artifacts/${id}`;
}
function jobBackendId(token) {
  try {
    const payload = JSON.parse(
      Buffer.from(token?.split(".")[1] ?? "", "base64url").toString("utf8")
    );
    const scope = String(payload.scp ?? "").split(" ").find((part) => part.startsWith("Actions.Results:"));
    return scope?.split(":")[2] || void 0;
  } catch {
    return void 0;
  }
}
function scrubUrls(text) {
  return text.replace(/(https?:\/\/[^\s?'"]+)\?[^\s'"]*/g, "$1");
}
function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// src/report/regression-view.ts
function runDescription(env) {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return void 0;
  const ref = env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME;
  return `${env.GITHUB_REPOSITORY} run ${env.GITHUB_RUN_ID} attempt ${env.GITHUB_RUN_ATTEMPT || "1"}${ref ? ` on ${ref}` : ""}`;
}
async function regressionView(report, reportDir, options) {
  const { log, env } = options;
  try {
    const current = await currentBaseline(report, reportDir, {
      flake: options.flake,
      attribute: options.image,
      firmware: options.firmware,
      run: runDescription(env)
    });
    const passed = report.result === "passed" && !report.error;
    if (report.cancelled) return { comparison: noComparison("off", "the run was cancelled") };
    const { comparison, restored, scope } = await compare(report, current, options);
    const baselineFile = passed ? writeSafely(
      () => writeBaselineFile(reportDir, withHistory(current, restored?.baseline)),
      log
    ) : void 0;
    writeBootHistory(reportDir, comparison, log);
    if (!scope || !restored) return { comparison, baselineFile };
    log.info(`Compared with the last good run: ${comparison.detail}`);
    const failsOnRegression = options.failOnRegression && comparison.regressions.length > 0;
    const notSaved = !scope.saves ? "pull requests compare with their base branch" : failsOnRegression ? "it failed on its regressions" : restored.serviceDown ? "the cache service failed the lookup, so post does not try it again" : void 0;
    const saveKey = baselineFile && !notSaved ? baselineKey(scope) : void 0;
    if (baselineFile && notSaved) log.info(`This run does not become the baseline: ${notSaved}.`);
    return { comparison, baselineFile, saveKey };
  } catch (error2) {
    log.warning(`The comparison with the last good run failed: ${errorMessage(error2)}`);
    return { comparison: noComparison("error", errorMessage(error2)) };
  }
}
async function compare(report, current, options) {
  if (options.compare === "off")
    return { comparison: noComparison("off", "input 'compare' is off") };
  const scope = baselineScope(options.env, options);
  if (typeof scope === "string") {
    return { comparison: noComparison("error", `no baseline scope: ${scope}`) };
  }
  const restored = report.cache?.serviceDown ? {
    status: "error",
    detail: "not restored: the cache service failed the image cache lookup of this run",
    serviceDown: true
  } : await restoreBaseline(scope, options.log);
  if (restored.status === "restored" && restored.baseline) {
    const comparison2 = compareWithBaseline(restored.baseline, current, {
      slowdownThresholdPercent: options.slowdownThresholdPercent,
      source: restored.key
    });
    return { comparison: comparison2, restored, scope };
  }
  const status = restored.status === "none" ? "no-baseline" : "error";
  const comparison = noComparison(status, restored.detail, restored.key);
  return {
    comparison: {
      ...comparison,
      ...judgeBootTime(void 0, current, options.slowdownThresholdPercent)
    },
    restored,
    scope
  };
}
function writeSafely(write, log) {
  try {
    return write();
  } catch (error2) {
    log.warning(
      `baseline.json was not written, so this run cannot become the baseline: ${errorMessage(error2)}`
    );
    return void 0;
  }
}

// src/main.ts
async function run() {
  const secrets = new Secrets((value) => setSecret(value));
  secrets.addFromEnvironment(process.env);
  const base = reportBase();
  const reportDir = join2(base, "report");
  const tempDir = join2(base, "work");
  mkdirSync(reportDir, { recursive: true });
  mkdirSync(tempDir, { recursive: true, mode: 448 });
  saveState(STATE.reportDir, reportDir);
  setOutput("report-dir", reportDir);
  const cancel = new AbortController();
  const onSignal = (signal) => {
    warning(`Received ${signal}: stopping the current stage and writing the report.`);
    cancel.abort();
    signalChildren("SIGTERM");
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let inputs;
  try {
    inputs = parseInputs((name) => getInput(name));
  } catch (error2) {
    const message = errorMessage(error2);
    setFailed(message);
    const report2 = inputErrorReport(message);
    finishReport(report2, reportDir);
    await upload(
      report2,
      reportDir,
      "failure",
      // A bad artifact-name would fail the upload too: the report goes under the default name.
      (error2 instanceof InputError && error2.input === "artifact-name" ? "" : getInput("artifact-name").trim()) || INPUT_DEFAULTS["artifact-name"],
      void 0,
      secrets
    );
    if (!(error2 instanceof InputError)) throw error2;
    return;
  }
  secrets.add(inputs.githubToken);
  const ctx = {
    log: actionsLog,
    secrets,
    reportDir,
    tempDir,
    env: process.env,
    signal: cancel.signal
  };
  let report;
  try {
    report = await runPipeline(inputs, ctx, {
      onKey: (key) => saveState(STATE.keyDir, key.dir),
      onCleanupPaths: (paths) => saveState(STATE.cleanupPaths, JSON.stringify(paths)),
      onQemuStarted: (pid) => saveState(STATE.qemuPid, String(pid)),
      onCacheSave: (state) => saveState(STATE.imageCache, JSON.stringify(state)),
      onSetup: (setup) => {
        if (setup.ok && setup.nix) exportNixEnv(nixStepEnv(setup.nix, process.env));
      }
    });
  } catch (error2) {
    report = crashReport(reportDir, errorMessage(error2));
    error(errorMessage(error2), { title: "boot-image-vm crashed" });
  }
  const view = await actionsLog.group(
    "Compare with the last good run",
    () => regressionView(report, reportDir, { ...inputs, env: process.env, log: actionsLog })
  );
  report.comparison = view.comparison;
  if (view.saveKey && view.baselineFile) {
    saveState(STATE.baselineFile, view.baselineFile);
    saveState(STATE.baselineKey, view.saveKey);
  }
  finishReport(report, reportDir);
  await upload(report, reportDir, inputs.upload, inputs.artifactName, inputs.retentionDays, secrets);
  annotate(report, actionsLog, probeOutputReader(reportDir));
  annotateComparison(report.comparison, actionsLog);
  if (report.result !== "passed") setFailed(`boot-image-vm: ${report.result}`);
  else if (inputs.failOnRegression && report.comparison.regressions.length) {
    setFailed(
      `boot-image-vm: passed, but with ${report.comparison.regressions.length} regression(s) since the last good run (fail-on-regression)`
    );
  }
}
function exportNixEnv(step) {
  for (const [name, value] of Object.entries(step.variables)) exportVariable(name, value);
  for (const dir of missingPaths(step, process.env.PATH).reverse()) addPath(dir);
}
function reportBase() {
  const runnerTemp = process.env.RUNNER_TEMP;
  if (runnerTemp) {
    try {
      return mkdtempSync(join2(runnerTemp, "boot-image-vm-"));
    } catch (error2) {
      warning(
        `RUNNER_TEMP (${runnerTemp}) cannot hold the report (${errorMessage(error2)}); using ${tmpdir()} instead.`
      );
    }
  }
  return mkdtempSync(join2(tmpdir(), "boot-image-vm-"));
}
function setOutputs(report, reportDir) {
  for (const [name, value] of Object.entries(actionOutputs(report, { reportDir })))
    setOutput(name, value);
}
function finishReport(report, reportDir) {
  const summary2 = renderSummary(report);
  try {
    writeReportFiles(reportDir, report, summary2);
  } catch (error2) {
    warning(`The report files were not written to ${reportDir}: ${errorMessage(error2)}`);
  }
  return summary2;
}
async function upload(report, reportDir, mode, name, retentionDays, secrets) {
  const wanted = mode === "always" || mode === "failure" && report.result !== "passed";
  report.upload = wanted ? await uploadReport({ reportDir, name, retentionDays, secrets, log: actionsLog }) : { status: "skipped", detail: `upload: ${mode}`, withheld: [] };
  report.stages.upload = {
    status: report.upload.status === "failed" ? "warning" : report.upload.status === "skipped" ? "skipped" : "passed",
    durationMs: 0,
    detail: report.upload.detail
  };
  const summary2 = finishReport(report, reportDir);
  setOutputs(report, reportDir);
  try {
    await summary.addRaw(summary2).write();
  } catch (error2) {
    warning(`The job summary was not written: ${errorMessage(error2)}`);
  }
}
function emptyReport() {
  const now = (/* @__PURE__ */ new Date()).toISOString();
  return {
    schemaVersion: 1,
    result: "setup-failed",
    decidedBy: "setup",
    complete: true,
    startedAt: now,
    finishedAt: now,
    stages: {},
    builds: []
  };
}
function inputErrorReport(message) {
  const report = emptyReport();
  report.stages.setup = { status: "failed", durationMs: 0, detail: message };
  report.setup = {
    ok: false,
    error: message,
    changes: [],
    cleanupPaths: [],
    kvm: { action: "not checked", deviceUsable: false }
  };
  return report;
}
function crashReport(reportDir, message) {
  let report;
  try {
    report = JSON.parse(readFileSync(join2(reportDir, "report.json"), "utf8"));
  } catch {
    report = emptyReport();
  }
  report.error = `boot-image-vm crashed: ${message}`;
  report.complete = true;
  if (report.result === "passed")
    Object.assign(report, { result: "setup-failed", decidedBy: "setup" });
  return report;
}

// src/index.ts
await run();
process.exit();
