// The page's script: src/page.ts with everything it imports, through each package's `browser`
// entry, as one file (dist/page.bundle.js). Fails when anything in it still needs Node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/page.ts')],
  outfile: join(root, 'dist/page.bundle.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
});
