/** jetsched's version, from this package's package.json (all jetsched packages share it). */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const JETSCHED_VERSION: string = pkg.version;
