import { createRequire as __bivCreateRequire } from 'node:module';
import { fileURLToPath as __bivFileURLToPath } from 'node:url';
import { dirname as __bivDirnameOf } from 'node:path';
const require = __bivCreateRequire(import.meta.url);
const __bivFilename = __bivFileURLToPath(import.meta.url);
const __bivDirname = __bivDirnameOf(__bivFilename);
import {
  BOOT_HISTORY_FILE,
  baselineFrom,
  baselineJson,
  bootHistoryCsv,
  errorMessage,
  parseBaseline,
  run
} from "./chunk-KBBUKBBU.js";

// src/report/baseline-file.ts
import { readFileSync as readFileSync2, statSync, writeFileSync } from "node:fs";
import { join as join2 } from "node:path";

// src/report/annotations.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
var MAX_PROBE_ERRORS = 5;
var MAX_MESSAGE = 4e3;
var clip = (text) => text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE - 1) + "\u2026" : text;
function probeOutputReader(reportDir) {
  return (file) => {
    try {
      return readFileSync(join(reportDir, file), "utf8");
    } catch {
      return void 0;
    }
  };
}
function annotateBuilds(report, log) {
  for (const build of report.builds) {
    if (build.status === "eval-failed") {
      log.error(clip(build.error ?? "Nix could not evaluate the image."), {
        title: `Evaluation failed (${build.context})`
      });
    } else if (build.status === "build-failed" && build.failures.length === 0) {
      log.error(clip(build.error ?? "nix build failed; see build/build.log in the artifact."), {
        title: `Build failed (${build.context})`
      });
    }
  }
}
function annotateBoot(report, log) {
  const boot = report.vm?.boot;
  if (boot?.status !== "failed") return;
  const parts = [boot.error ?? "The image did not boot to a working SSH server."];
  if (boot.panic) parts.push(`Console: ${boot.panic}`);
  parts.push("See vm/serial.log and vm/*.png in the artifact.");
  log.error(clip(parts.join("\n")), { title: "Boot failed" });
}
function failedRequired(probe) {
  return probe.required && (probe.exitCode !== 0 || probe.timedOut || probe.missing);
}
function describeProbe(probe) {
  if (probe.timedOut) return `timed out after ${Math.round(probe.durationMs / 1e3)} s`;
  if (probe.missing) return "its command was not found on the guest";
  if (probe.exitCode === null) return `ended by ${probe.signal ?? "a signal"}`;
  return `exited with code ${probe.exitCode}`;
}
function annotateProbes(report, log) {
  const failed = (report.vm?.probes ?? []).filter(failedRequired);
  for (const probe of failed.slice(0, MAX_PROBE_ERRORS)) {
    log.error(clip(`\`${probe.command}\` ${describeProbe(probe)}. Output: ${probe.file}.`), {
      title: `Probe ${probe.name} failed`
    });
  }
  const rest = failed.slice(MAX_PROBE_ERRORS);
  if (rest.length) {
    log.error(clip(`Also failed: ${rest.map((p) => p.name).join(", ")}. See probes/.`), {
      title: `${rest.length} more required probes failed`
    });
  }
}
function annotateTest(report, log) {
  const test = report.vm?.test;
  if (!test || test.exitCode === 0 && !test.timedOut) return;
  const what = test.timedOut ? "timed out" : `exited with code ${test.exitCode ?? "none"}`;
  log.error(`The test command ${what}. Output: ${test.file}.`, { title: "Test failed" });
}
function failedUnits(output) {
  const unit = /^\s*[●*]?\s*(\S+\.(?:service|socket|mount|automount|target|timer|path|device|swap|scope|slice))\s/;
  return output.split("\n").map((line) => unit.exec(line)?.[1]).filter((name) => Boolean(name));
}
function probeStdout(text) {
  const start = text.indexOf("--- stdout ---\n");
  if (start < 0) return text;
  const body = text.slice(start + "--- stdout ---\n".length);
  const end = body.lastIndexOf("--- stderr ---");
  return end < 0 ? body : body.slice(0, end);
}
function annotateGuestHealth(report, log, read) {
  const probes = report.vm?.probes ?? [];
  const stdout = (file) => {
    const text = read?.(file);
    return text === void 0 ? void 0 : probeStdout(text);
  };
  const state = probes.find((p) => p.name === "system-state");
  if (state && !failedRequired(state)) {
    const output = stdout(state.file)?.trim();
    const last = output?.split("\n").pop()?.trim();
    if (last !== void 0 && last !== "running") {
      log.warning(`systemctl is-system-running says '${last}', not 'running'.`, {
        title: "Guest degraded"
      });
    } else if (last === void 0 && state.exitCode !== 0) {
      log.warning(`The system-state probe ${describeProbe(state)}: the guest is not 'running'.`, {
        title: "Guest degraded"
      });
    }
  }
  const units = probes.find((p) => p.name === "failed-units");
  const names = units ? failedUnits(stdout(units.file) ?? "") : [];
  if (names.length) {
    const shown = names.slice(0, 20).join(", ") + (names.length > 20 ? ", \u2026" : "");
    log.warning(`Failed units on the guest: ${shown}. See ${units?.file}.`, {
      title: `${names.length} failed unit${names.length === 1 ? "" : "s"}`
    });
  }
}
function annotateUpload(report, log) {
  const upload = report.upload;
  if (!upload) return;
  if (upload.status === "failed") {
    log.warning(clip(`The report was not uploaded: ${upload.detail}`), { title: "Upload failed" });
  }
  if (upload.withheld.length) {
    log.warning(
      clip(`Withheld from the artifact because they held a secret: ${upload.withheld.join(", ")}`),
      { title: "Files withheld" }
    );
  }
}
function annotate(report, log, read) {
  annotateBuilds(report, log);
  annotateBoot(report, log);
  annotateProbes(report, log);
  annotateTest(report, log);
  annotateGuestHealth(report, log, read);
  annotateUpload(report, log);
}

// src/report/baseline-file.ts
var BASELINE_FILE = "baseline.json";
function parseClosureSize(json) {
  try {
    const value = JSON.parse(json);
    const entries = Array.isArray(value) ? value : Object.values(value);
    const size = entries[0]?.closureSize;
    return typeof size === "number" ? size : void 0;
  } catch {
    return void 0;
  }
}
async function closureBytes(nix, outPath) {
  const result = await run(nix.nixPath, ["path-info", "--closure-size", "--json", outPath], {
    env: { ...process.env, ...nix.env }
  });
  return result.exitCode === 0 ? parseClosureSize(result.stdout) : void 0;
}
async function currentBaseline(report, reportDir, facts) {
  const build = report.builds.find((b) => b.status === "passed" && b.outPath);
  const sizes = {};
  if (build?.isoPath) {
    try {
      sizes.isoBytes = statSync(build.isoPath).size;
    } catch {
    }
  }
  const nix = report.setup?.nix;
  if (nix && build?.outPath) sizes.closureBytes = await closureBytes(nix, build.outPath);
  return baselineFrom(report, probeOutputReader(reportDir), { ...facts, ...sizes });
}
function writeBaselineFile(reportDir, baseline) {
  const path = join2(reportDir, BASELINE_FILE);
  writeFileSync(path, baselineJson(baseline), { mode: 420 });
  return path;
}
function readBaselineFile(path) {
  let text;
  try {
    text = readFileSync2(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the baseline ${path}: ${error.message}`);
  }
  try {
    return parseBaseline(text);
  } catch (error) {
    throw new Error(`the baseline ${path} is unusable: ${error.message}`);
  }
}
function writeBootHistory(reportDir, comparison, log) {
  if (!comparison.history?.length) return;
  try {
    writeFileSync(join2(reportDir, BOOT_HISTORY_FILE), bootHistoryCsv(comparison.history), {
      mode: 420
    });
  } catch (error) {
    log?.warning(`${BOOT_HISTORY_FILE} was not written: ${errorMessage(error)}`);
  }
}

// src/report/outputs.ts
var EXIT_CODES = {
  passed: 0,
  "internal-error": 1,
  "setup-failed": 2,
  "eval-failed": 3,
  "build-failed": 4,
  "boot-failed": 5,
  "probe-failed": 6,
  "test-failed": 7
};
function exitCodeFor(result) {
  return EXIT_CODES[result];
}
function primaryBuild(builds) {
  return builds.find((b) => b.status === "passed" && b.outPath) ?? builds.find((b) => b.drvPath) ?? builds[0];
}
function failedDrvs(builds) {
  const seen = /* @__PURE__ */ new Set();
  const list = [];
  for (const build of builds) {
    for (const f of build.failures) {
      if (seen.has(f.drv)) continue;
      seen.add(f.drv);
      list.push({ drv: f.drv, name: f.name, reason: f.reason, exitCode: f.exitCode, log: f.log });
    }
  }
  return JSON.stringify(list);
}
function seconds(value) {
  if (value === void 0 || !Number.isFinite(value)) return "";
  return String(Math.round(value * 10) / 10);
}
function actionOutputs(report, context) {
  const build = primaryBuild(report.builds);
  const boot = report.vm?.boot;
  const upload = report.upload;
  return {
    result: report.result,
    "iso-path": build?.isoPath ?? "",
    "iso-artifact": report.isoArtifact?.status === "uploaded" ? report.isoArtifact.name ?? "" : "",
    "out-path": build?.outPath ?? "",
    "drv-path": build?.drvPath ?? "",
    "failed-drvs": failedDrvs(report.builds),
    accel: boot?.accel ?? "",
    "boot-seconds": boot?.status === "passed" ? seconds(boot.bootSeconds) : "",
    "nix-version": context.nixVersion ?? report.setup?.nix?.version ?? "",
    "report-dir": context.reportDir,
    "artifact-id": upload?.artifactId === void 0 ? "" : String(upload.artifactId),
    "artifact-url": upload?.artifactUrl ?? "",
    regressions: JSON.stringify(report.comparison?.regressions ?? [])
  };
}

export {
  probeOutputReader,
  annotate,
  currentBaseline,
  writeBaselineFile,
  readBaselineFile,
  writeBootHistory,
  EXIT_CODES,
  exitCodeFor,
  actionOutputs
};
