// Errors that map onto HTTP answers. Routes throw these; the app's error handler
// turns them (and Fastify's own validation errors) into `{ error, message }` JSON.

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

export class ConflictError extends HttpError {
  constructor(message: string) {
    super(409, "conflict", message);
  }
}

/** A backend (database, cache, broker, another service) cannot serve right now: 503, never a crash. */
export class ServiceUnavailableError extends HttpError {
  constructor(
    readonly backend: string,
    override readonly cause?: unknown,
  ) {
    super(503, "service_unavailable", `${backend} is unavailable`);
  }
}
