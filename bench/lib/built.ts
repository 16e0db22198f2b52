// The repository's compiled libraries and apps (their dist/), loaded as the running services load them and typed by
// their sources.
import { createRequire } from 'node:module';

type Contracts = typeof import('@deliberate/contracts');
const requireBuilt = createRequire(import.meta.url);

/** A module by package name or built path (e.g. apps/audit/dist/…), typed by its source. */
export const requireFromRoot = <T>(path: string): T => requireBuilt(path) as T;

/** The built @deliberate/contracts (libs/contracts/dist). */
export const builtContracts = (): Contracts => requireFromRoot<Contracts>('@deliberate/contracts');
