// One name, one meaning (issue 25): no two files in src/ share a name across folders where one
// imports the other, so `boot.ts` or `qemu.ts` in an import says which one. The names every stage
// folder shares by design (its index.ts, the stage.ts that composes it, its judge.ts, its
// types.ts) are the exception: another folder reaches a stage only through its index.ts
// (eslint.config.js).
import { readFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SRC, sourceFiles } from '../helpers/source-files.js'

/** The shape of a stage folder: the same names in each, by design. */
const SHAPE = new Set(['index.ts', 'stage.ts', 'judge.ts', 'types.ts'])

/** Each file (relative to src/) → the files it imports (static, re-export or dynamic). */
function importGraph(): Map<string, string[]> {
  return new Map(
    sourceFiles().map(file => {
      const text = readFileSync(file, 'utf8')
      const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.\.?\/[^']+)'/g)]
      const targets = specifiers.map(match =>
        relative(SRC, resolve(dirname(file), match[1]).replace(/\.js$/, '.ts'))
      )
      return [relative(SRC, file), targets]
    })
  )
}

/** Every file name two folders share where one imports the other, as `a/x.ts ~ b/x.ts`. */
function sharedNames(graph: Map<string, string[]>): string[] {
  const names = new Map<string, Set<string>>()
  for (const file of graph.keys()) {
    names.set(dirname(file), (names.get(dirname(file)) ?? new Set()).add(basename(file)))
  }
  const clashes = new Set<string>()
  for (const [file, targets] of graph) {
    const from = dirname(file)
    for (const to of new Set(targets.map(target => dirname(target)))) {
      if (to === from || !names.has(to)) continue
      for (const name of names.get(from)!) {
        if (SHAPE.has(name) || !names.get(to)!.has(name)) continue
        clashes.add([join(from, name), join(to, name)].sort().join(' ~ '))
      }
    }
  }
  return [...clashes].sort()
}

describe('file names in src/', () => {
  const graph = importGraph()

  it('reads the folders and their imports', () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(graph.get('pipeline/index.ts')).toContain('setup/index.ts')
  })

  it('no two files share a name across folders where one imports the other', () => {
    expect(sharedNames(graph)).toEqual([])
  })

  it('names a clash, and leaves alone the names every stage folder shares', () => {
    const sample = new Map([
      ['pipeline/boot.ts', ['vm/index.ts']],
      ['pipeline/stage.ts', []],
      ['vm/index.ts', ['vm/stage.ts']],
      ['vm/boot.ts', []],
      ['vm/stage.ts', []],
      ['report/boot.ts', []]
    ])
    expect(sharedNames(sample)).toEqual(['pipeline/boot.ts ~ vm/boot.ts'])
  })
})
