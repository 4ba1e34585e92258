// The report, written as the run goes and delivered at its end: report.json and summary.md in the
// report directory, the job summary, annotations, outputs, the artifact, and the regression view
// against the last passing run. Returns what was delivered; a failed delivery is a warning.
export { writeReportFiles } from './report-file.js'
export { renderSummary } from './summary.js'
export { deliverReport, emptyReport, readReport, type DeliveryOptions } from './deliver.js'
