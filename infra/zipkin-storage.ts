// Zipkin's in-memory storage, the same on every target and in the local runner.
// Zipkin's default cap, 500 000 spans, does not fit the heap below (a stored span
// takes about 2.5 KB of it): under sustained traffic the store filled the heap within
// a minute and the JVM then spent a whole core in garbage collection. 50 000 spans
// use about 125 MB of the 384 MB heap; the oldest traces are evicted first.
export const ZIPKIN_MAX_STORED_SPANS = 50_000;
export const ZIPKIN_MAX_HEAP = "384m";

/** Environment of a Zipkin server with bounded in-memory storage. */
export const ZIPKIN_STORAGE_ENV = {
  STORAGE_TYPE: "mem",
  MEM_MAX_SPANS: String(ZIPKIN_MAX_STORED_SPANS),
} as const;

/**
 * Environment of the Zipkin image: storage, and the JVM's memory its entrypoint
 * reads from JAVA_OPTS. Beside the heap, the JVM's other pools are capped too:
 * left alone, direct buffers (Zipkin's HTTP server) may grow as large as the
 * heap, and under load on a real node the kernel killed Zipkin at its 512 MiB
 * limit. Heap 384 + direct 64 + metaspace 128 + code 64 stay under the 768 MiB
 * its container is given (infra/workload-sizes.ts), threads and the rest included.
 */
export const ZIPKIN_CONTAINER_ENV = {
  ...ZIPKIN_STORAGE_ENV,
  // Exit rather than spin if the heap still runs out: the container is restarted.
  JAVA_OPTS: `-Xms128m -Xmx${ZIPKIN_MAX_HEAP} -XX:MaxDirectMemorySize=64m -XX:MaxMetaspaceSize=128m -XX:ReservedCodeCacheSize=64m -XX:+ExitOnOutOfMemoryError`,
} as const;
