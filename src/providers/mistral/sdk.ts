/**
 * Loads `@mistralai/mistralai`, which is ESM only (`"type": "module"`, one `default` export condition), from
 * anybatch's CommonJS build, with a real dynamic `import()`.
 *
 * tsc rewrites `import()` to `require()` in CommonJS output, so the import is compiled at run time
 * (`new Function`). The specifier is resolved first (`require.resolve`: the package's `default` condition) and
 * imported as a file URL, so it does not depend on the working directory. Inside a vm context without a dynamic
 * import hook (jest runs test files that way, and has no ESM support without --experimental-vm-modules), that
 * import throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING*; then the import is compiled in Node's main context with
 * its default loader (`vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER`, Node >= 20.12), the same loader a plain
 * `import()` uses. Not `require(esm)`: it needs Node >= 20.19 (the floor is 20.3) and jest's require refuses ESM.
 */
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import type * as MistralSdk from '@mistralai/mistralai';
import type * as MistralErrors from '@mistralai/mistralai/esm/models/errors/index.js';

export type { MistralSdk, MistralErrors };
export type MistralClient = InstanceType<typeof MistralSdk.Mistral>;

export interface MistralModules {
  sdk: typeof MistralSdk;
  errors: typeof MistralErrors;
}

type Importer = (url: string) => Promise<unknown>;

const plainImport = new Function('url', 'return import(url)') as Importer;

function mainContextImport(): Importer {
  const loader = (vm.constants as Partial<typeof vm.constants> | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!loader) throw new Error('@mistralai/mistralai is an ES module and this runtime gives no way to import it here (Node >= 20.12 does).');
  return vm.runInThisContext('(url) => import(url)', { importModuleDynamically: loader }) as Importer;
}

async function importPackage<T>(specifier: string): Promise<T> {
  const url = pathToFileURL(require.resolve(specifier)).href;
  try {
    return (await plainImport(url)) as T;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw err;
    return (await mainContextImport()(url)) as T;
  }
}

let loading: Promise<MistralModules> | null = null;

/** The SDK and its error classes, loaded once per process. */
export function loadMistral(): Promise<MistralModules> {
  if (!loading) {
    loading = Promise.all([importPackage<typeof MistralSdk>('@mistralai/mistralai'), importPackage<typeof MistralErrors>('@mistralai/mistralai/models/errors')]).then(
      ([sdk, errors]) => ({ sdk, errors }),
    );
    loading.catch(() => (loading = null));
  }
  return loading;
}
