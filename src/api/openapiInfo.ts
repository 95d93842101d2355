// The parts of the OpenAPI document that are not routes: what the API is,
// how it authenticates, where it runs. @fastify/swagger adds the paths from
// the routes' schemas (routes.ts).

import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';

export const OPENAPI_INFO: FastifyDynamicSwaggerOptions['openapi'] = {
  openapi: '3.1.0',
  info: {
    title: 'Bookiji Partner API',
    version: '1.0.0',
    description:
      'Availability computed by Bookiji, and bookings made on it. Every /v1 request carries "Authorization: Bearer <key>" ' +
      '(`bookiji apikey create --partner NAME`). Errors are {"error": {code, message, hint, retryable}} (and "field" for VALIDATION_ERROR). Each key has a request budget per window ' +
      'shared by every server (429 with Retry-After past it; 503 if the limiter cannot be consulted). A partner only ever sees bookings it made. ' +
      "State changes of those bookings are POSTed to the partner's webhook URL with Bookiji-Event-Id (stable across retries) and " +
      'Bookiji-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">. Request bodies are JSON objects (Content-Type: application/json, ' +
      'at most 64 KiB, nested at most 32 levels, valid UTF-8, no NUL characters); unknown fields and query parameters are refused.',
  },
  servers: [{ url: 'http://127.0.0.1:8080' }],
  components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
  security: [{ apiKey: [] }],
};
