// Shared by the hardening suite (tests/e2e/hardening-*.test.ts).
import { expect } from 'vitest'
import type { ActionRun } from './action-runner.js'
import type { FakeResultsService } from './fake-results-service.js'

/** The job log without the lines that only register masks. */
export function jobLog(run: ActionRun): string {
  return [run.main.stdout, run.main.stderr, run.post.stdout, run.post.stderr]
    .join('\n')
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
}

/** The report files of the run's artifact, as text. */
export async function artifactOf(
  service: FakeResultsService,
  run: ActionRun
): Promise<Record<string, string>> {
  const id = run.outputs['artifact-id']
  expect(id, `artifact-id output (upload: ${run.outputs['report-dir']})`).toMatch(/^\d+$/)
  const artifact = service.artifacts.find(a => String(a.id) === id)
  expect(artifact, `artifact ${id} received`).toBeDefined()
  const files = await artifact!.files()
  return Object.fromEntries(Object.entries(files).map(([n, data]) => [n, data.toString('utf8')]))
}
