#!/usr/bin/env node
// The `jetsched` command as installed (`pnpm exec jetsched`, `npx jetsched`): a file that exists
// before the build, so that installing creates the link; it runs the built CLI.
import('../dist/bin.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin.js')) {
    process.stderr.write('jetsched: the CLI is not built yet; run `pnpm build` first\n');
    process.exitCode = 1;
    return;
  }
  throw err;
});
