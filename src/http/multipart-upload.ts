import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { ServiceError } from '../core/service-error';

export interface ReceivedFile<T> {
  fieldName: string;
  filename: string;
  mimeType: string;
  /** Whatever `consume` made of the stream (e.g. a staged blob). */
  stored: T;
}

export interface MultipartOptions<T> {
  fileField: string;
  maxFieldBytes: number;
  maxFields: number;
  /** Consumes the file stream as it arrives (never buffered whole). */
  consume(stream: Readable, info: { filename: string; mimeType: string }): Promise<T>;
  /** Undoes `consume` when the request fails after it. */
  release(stored: T): Promise<void>;
}

/**
 * Streams a multipart/form-data request: text fields are collected, the one file field is handed
 * to `consume` while it arrives. Fields may come before or after the file.
 */
export function receiveMultipart<T>(req: Request, options: MultipartOptions<T>): Promise<{ fields: Record<string, string>; file: ReceivedFile<T> | null }> {
  const type = req.header('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    return Promise.reject(new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the checkpoint as multipart/form-data with the bytes in the `file` field'));
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: options.maxFieldBytes, fields: options.maxFields, files: 1, parts: options.maxFields + 1 } });
    } catch (e) {
      reject(new ServiceError('MULTIPART_INVALID', `malformed multipart request: ${(e as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let file: ReceivedFile<T> | null = null;
    let pending: Promise<void> | null = null;
    let failure: unknown = null;
    let finished = false;

    const fail = (e: unknown) => {
      if (failure === null) failure = e;
      req.unpipe(parser);
      req.resume(); // drain the rest so the client gets the error response
      settle();
    };
    const settle = () => {
      if (!finished && failure === null) return;
      void (pending ?? Promise.resolve()).then(
        async () => {
          if (failure !== null) {
            if (file) await options.release(file.stored).catch(() => undefined);
            file = null;
            reject(failure);
          } else resolve({ fields, file });
        },
        async (e: unknown) => {
          if (file) await options.release(file.stored).catch(() => undefined);
          reject(failure ?? e);
        },
      );
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new ServiceError('INVALID_FIELD', `field ${name} is longer than ${options.maxFieldBytes} bytes`, { field: name }));
      if (Object.prototype.hasOwnProperty.call(fields, name)) return fail(new ServiceError('INVALID_FIELD', `field ${name} was sent twice`, { field: name }));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== options.fileField || pending) {
        stream.resume();
        return fail(new ServiceError('MULTIPART_INVALID', `unexpected file field \`${name}\`: send exactly one file, in the \`${options.fileField}\` field`));
      }
      pending = options.consume(stream, { filename: info.filename ?? '', mimeType: info.mimeType }).then((stored) => {
        file = { fieldName: name, filename: info.filename ?? '', mimeType: info.mimeType, stored };
        if (failure !== null) void options.release(stored).catch(() => undefined);
      });
      pending.catch((e: unknown) => fail(e));
    });
    parser.on('fieldsLimit', () => fail(new ServiceError('MULTIPART_INVALID', `too many form fields (at most ${options.maxFields})`)));
    parser.on('partsLimit', () => fail(new ServiceError('MULTIPART_INVALID', 'too many form parts')));
    parser.on('filesLimit', () => fail(new ServiceError('MULTIPART_INVALID', 'send exactly one file')));
    parser.on('error', (e: Error) => fail(new ServiceError('MULTIPART_INVALID', `malformed multipart request: ${e.message}`)));
    parser.on('close', () => {
      finished = true;
      settle();
    });
    req.on('aborted', () => fail(new ServiceError('MULTIPART_INVALID', 'the client aborted the upload')));
    req.pipe(parser);
  });
}
