import type * as OpenTelemetryModule from '@opentelemetry/api';

/** `@opentelemetry/api`, as the application installed it. */
export type OpenTelemetryApi = typeof OpenTelemetryModule;

/**
 * A variable, not a literal: a bundler that meets `import('@opentelemetry/api')`
 * insists on resolving it, which fails for the applications that do without it.
 */
const API_MODULE = '@opentelemetry/api';

let api: OpenTelemetryApi | undefined;
let loading: Promise<OpenTelemetryApi | undefined> | undefined;

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Loads `@opentelemetry/api`, an optional peer dependency, once per process;
 * resolves undefined when the application does not have it installed, and
 * everything observability does is then skipped.
 */
export function loadOpenTelemetry(): Promise<OpenTelemetryApi | undefined> {
  loading ??= (import(API_MODULE) as Promise<OpenTelemetryApi>).then(
    (module) => (api = module),
    (error: unknown) => {
      if (isModuleNotFound(error)) return undefined;
      throw error;
    },
  );
  return loading;
}

/** The API once `loadOpenTelemetry()` has loaded it (every pool does at creation); else undefined. */
export function openTelemetry(): OpenTelemetryApi | undefined {
  return api;
}

/**
 * Runs one piece of a call's telemetry. An SDK, sampler or exporter that
 * throws is reported to OpenTelemetry's own diagnostic logger, where its
 * other failures go, and never to the call: telemetry does not fail, stall
 * or hold a call.
 */
export function reportingFailures<T>(api: OpenTelemetryApi, what: string, report: () => T, fallback: T): T {
  try {
    return report();
  } catch (error) {
    api.diag.error(`snakepit-rx: ${what} failed`, error);
    return fallback;
  }
}
