import { applyDecorators } from '@nestjs/common';
import { ApiConsumes, ApiHeader, ApiOperation, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { OipErrorDto, OipInferRequestDto, OipInferResponseDto } from './dto/oip.dto';

/** The binary tensor data extension's header: bytes of JSON before the tensors. */
export const HEADER_LENGTH = 'Inference-Header-Content-Length';

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (shape, datatype, data length, JSON)', 401: 'Missing or invalid API key', 403: 'The API key lacks the read scope',
  404: 'Unknown model or version', 413: 'Body over WEIGHTSMITH_MAX_INFER_BYTES', 415: 'A compressed body (Content-Encoding)', 429: 'Rate limited', 500: 'The engine failed',
  503: 'Queue full, model unloading, or not ready',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } };

/** The protocol's `{ "error": "..." }` responses a route can give. */
export function ApiOipErrors(...statuses: number[]): MethodDecorator {
  return applyDecorators(
    ...[401, 403, 429, ...statuses].map((status) => ApiResponse({ status, description: ERROR_TEXT[status], type: OipErrorDto, ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}) })),
  );
}

const BINARY_BODY = { schema: { type: 'string', format: 'binary' } };
const BINARY_DESCRIPTION =
  'Binary tensor data extension: the JSON inference request (inputs carrying `parameters.binary_data_size` instead of `data`) as UTF-8, ' +
  'followed by those inputs\' raw little-endian bytes in input order; `Inference-Header-Content-Length` gives the length of the JSON part.';

/**
 * Request and response of the infer routes. `json`: the protocol's route, documented with both of
 * its media types (a JSON request, or a binary one). `binary`: the same handler under its own
 * path, documented with the binary media type alone, so that generated clients send it as bytes.
 * (`@ApiBody` gives every media type one schema, so the request body is written out here.)
 */
export function InferDocs(kind: 'json' | 'binary', summary: string): MethodDecorator {
  const json = { schema: { $ref: getSchemaPath(OipInferRequestDto) } };
  return applyDecorators(
    ...(kind === 'json'
      ? [
          ApiConsumes('application/json', 'application/octet-stream'),
          ApiOperation({
            summary,
            requestBody: {
              required: true,
              description: `application/json: the inference request. application/octet-stream: ${BINARY_DESCRIPTION} (also at .../infer/binary)`,
              content: { 'application/json': json, 'application/octet-stream': BINARY_BODY },
            },
          }),
          ApiHeader({ name: HEADER_LENGTH, required: false, description: 'Length of the JSON header when binary tensors follow it', schema: { type: 'integer', minimum: 0 } }),
        ]
      : [
          ApiConsumes('application/octet-stream'),
          ApiOperation({ summary, requestBody: { required: true, description: BINARY_DESCRIPTION, content: { 'application/octet-stream': BINARY_BODY } } }),
          ApiHeader({ name: HEADER_LENGTH, required: true, description: 'Length of the JSON header at the start of the body', schema: { type: 'integer', minimum: 0 } }),
        ]),
    ApiResponse({
      status: 200,
      description:
        'application/json when every output is JSON; application/octet-stream when some output is binary (`parameters.binary_data`, `binary_data_output`): ' +
        'the JSON response (those outputs carrying `parameters.binary_data_size`), then their bytes in output order',
      content: {
        'application/json': { schema: { $ref: getSchemaPath(OipInferResponseDto) } },
        'application/octet-stream': BINARY_BODY,
      },
      headers: { [HEADER_LENGTH]: { description: 'With application/octet-stream: the length of the JSON part', schema: { type: 'integer', minimum: 0 } } },
    }),
    ApiOipErrors(400, 404, 413, 415, 500, 503),
  );
}
