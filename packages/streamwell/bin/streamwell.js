#!/usr/bin/env node
// The `streamwell` command's entry, committed as plain JavaScript on purpose: npm links a bin only
// when its target file exists, and it links a workspace's bins before `prepare` builds dist/. A bin
// pointing into dist/ was therefore never linked in a fresh clone, and `npx streamwell` was "not
// found". This file exists from the clone on; it only loads the built CLI.
try {
  await import('../dist/cli/main.js');
} catch (error) {
  // Only the CLI's own entry being absent means "not built"; any other failure is the CLI's own.
  const missing =
    error?.code === 'ERR_MODULE_NOT_FOUND' &&
    /dist[\\/]cli[\\/]main\.js/.test(String(error.message).split(' imported from ')[0]);
  if (!missing) throw error;
  process.stderr.write(
    'streamwell: the CLI is not built yet (dist/ is missing); run `npm run build:lib` in the repository.\n',
  );
  process.exitCode = 1;
}
