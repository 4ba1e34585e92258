// The one bundler config: ESM bundles for the runner (index, post) and the CLI, sharing chunks.
import { build } from 'esbuild'
import { rmSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: { index: 'src/index.ts', post: 'src/post-index.ts', cli: 'src/cli/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // ssh2's native speed-ups are optional; without them it runs in pure JS.
  external: ['cpu-features', '*.node'],
  // Some bundled CommonJS (ssh2, the Azure SDK) calls require/__dirname at run time. The names
  // are given through `define` so that bundled ES modules declaring their own stay untouched.
  banner: {
    js: [
      "import { createRequire as __bivCreateRequire } from 'node:module';",
      "import { fileURLToPath as __bivFileURLToPath } from 'node:url';",
      "import { dirname as __bivDirnameOf } from 'node:path';",
      'const require = __bivCreateRequire(import.meta.url);',
      'const __bivFilename = __bivFileURLToPath(import.meta.url);',
      'const __bivDirname = __bivDirnameOf(__bivFilename);'
    ].join('\n')
  },
  define: { __filename: '__bivFilename', __dirname: '__bivDirname' },
  legalComments: 'none',
  // Keep module paths as npm lays them out, even where node_modules is a symlink (a scratch
  // worktree), so dist/ is the same byte for byte wherever it is built.
  preserveSymlinks: true,
  logLevel: 'warning'
})
