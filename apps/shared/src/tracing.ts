// Tracing with OpenTelemetry, exported to Zipkin and propagated as multi-header
// B3, the format Envoy's Zipkin tracer reads and writes: the edge starts the trace,
// each sidecar adds its hop, and the app's own spans (backend calls) join the
// same trace because the app continues the incoming B3 context and injects it
// into every outgoing call. OpenTelemetry is used rather than a Zipkin-only
// client because it is the maintained, vendor-neutral API; `@opentelemetry/sdk-trace`
// is the 3.x SDK (the former sdk-trace-base/-node merged into one package).
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { suppressTracing } from "@opentelemetry/core";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { B3InjectEncoding, B3Propagator } from "@opentelemetry/propagator-b3";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

export { SpanKind, type Attributes, type Context };

const TRACER_NAME = "@mesh/service-kit";
let contextInstalled = false;

/** Installs the async context manager and the B3 propagator once per process. */
function installContextAndPropagation(): void {
  if (contextInstalled) return;
  contextInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
}

export interface Tracing {
  /** Flushes buffered spans; called on shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Sets up tracing for this process. Without `zipkinUrl` spans are not recorded,
 * yet incoming B3 context still flows through to outgoing calls (the no-op
 * tracer keeps the parent's ids), so the mesh's own spans stay connected.
 */
export function initTracing(options: { serviceName: string; zipkinUrl: string | undefined }): Tracing {
  installContextAndPropagation();
  if (!options.zipkinUrl) return { shutdown: async () => {} };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new ZipkinExporter({ url: options.zipkinUrl, serviceName: options.serviceName }), scheduledDelayMillis: 1000 }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a new span (a child of the active one); errors mark the span and are rethrown.
 * Under a span that is not recorded (a request the edge did not sample, or tracing off), no
 * child is made: it would not be recorded either, and `fn` keeps the parent's context, whose
 * ids and sampling decision outgoing calls carry on. Most requests are unsampled, so this
 * saves a span and a context switch on each of their backend calls.
 */
export async function withSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = trace.getActiveSpan();
  if (parent && !parent.isRecording()) return fn(parent);
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Starts a span continuing the trace carried in `carrier` (HTTP headers or AMQP message headers). */
export function startSpanFromCarrier(name: string, kind: SpanKind, carrier: Record<string, unknown>, attributes: Attributes = {}): { span: Span; ctx: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  const span = tracer().startSpan(name, { kind, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** B3 headers for the active context, to put on an outgoing request or message. */
export function injectTraceHeaders(carrier: Record<string, string> = {}, ctx: Context = context.active()): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

export function markSpanError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs background work (a poll, a cleanup) without recording its spans, as
 * probes and scrapes are not traced; spans started from a carrier inside (a
 * request's stored context) are recorded as part of that request's trace.
 */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(context.active()), fn);
}

/** Runs `fn` with `ctx` active, so spans started inside become its children. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
