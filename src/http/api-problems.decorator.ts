import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request', 401: 'Missing or invalid API key', 403: 'The API key lacks the required scope',
  404: 'Not found', 409: 'Conflict', 413: 'Too large', 415: 'Unsupported format', 416: 'Range not satisfiable',
  422: 'Invalid content', 429: 'Rate limited',
};

/** Headers some problem responses carry. */
const HEADERS: Record<number, Record<string, { description: string; schema: { type: 'string' | 'integer' } }>> = {
  416: { 'Content-Range': { description: '`bytes */<size>`: the size of the representation', schema: { type: 'string' } } },
  429: { 'Retry-After': { description: 'Seconds until a request would be admitted', schema: { type: 'integer' } } },
};

/** Documents the problem-details responses a route can give. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[401, 403, 429, ...statuses].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } },
        ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
      }),
    ),
  );
}
