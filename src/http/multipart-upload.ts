import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { findNulCharacter, nulCharacterMessage } from '../core/storable-text';
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
  /**
   * Text fields that may also arrive as a file part (curl's `-F config=@config.json`): read whole,
   * bounded by `maxFieldBytes`, as UTF-8, and given in `fields` like any other text field.
   */
  textFileFields?: readonly string[];
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
    const textFiles = options.textFileFields ?? [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fieldSize: options.maxFieldBytes, fields: options.maxFields, files: 1 + textFiles.length, parts: options.maxFields + 1 + textFiles.length },
      });
    } catch (e) {
      reject(new ServiceError('MULTIPART_INVALID', `malformed multipart request: ${(e as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let file: ReceivedFile<T> | null = null;
    let pending: Promise<void> | null = null;
    const textReads: Promise<void>[] = [];
    let failure: unknown = null;
    let finished = false;

    /** The file part being consumed, until it ends. */
    let active: Readable | null = null;

    const fail = (e: unknown) => {
      if (failure === null) failure = e;
      // The rest of the body no longer reaches the parser: a file still arriving would never end.
      if (active && !active.readableEnded) active.destroy(failure instanceof Error ? failure : new Error(String(failure)));
      req.unpipe(parser);
      req.resume(); // drain the rest so the client gets the error response
      settle();
    };
    const settle = () => {
      if (!finished && failure === null) return;
      // Text parts hold nothing to release: after a failure only the file is waited for.
      void Promise.all([pending ?? Promise.resolve(), ...(failure === null ? textReads : [])]).then(
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

    const addField = (name: string, value: string, truncated: boolean): void => {
      if (truncated) return fail(new ServiceError('INVALID_FIELD', `field ${name} is longer than ${options.maxFieldBytes} bytes`, { field: name }));
      if (Object.prototype.hasOwnProperty.call(fields, name)) return fail(new ServiceError('INVALID_FIELD', `field ${name} was sent twice`, { field: name }));
      if (findNulCharacter(name) !== null || findNulCharacter(value) !== null) {
        return fail(new ServiceError('INVALID_FIELD', nulCharacterMessage(`field ${JSON.stringify(name)}`), { field: name }));
      }
      fields[name] = value;
    };
    parser.on('field', (name, value, info) => addField(name, value, info.valueTruncated));
    parser.on('file', (name, stream, info) => {
      if (failure !== null) {
        // Parts the parser had already buffered when the request failed: nothing is kept of them.
        stream.resume();
        return;
      }
      if (textFiles.includes(name)) {
        textReads.push(
          readText(stream, options.maxFieldBytes).then(
            ({ text, truncated }) => addField(name, text, truncated),
            (e: unknown) => fail(new ServiceError('MULTIPART_INVALID', `malformed multipart request: ${(e as Error).message}`)),
          ),
        );
        return;
      }
      if (info.filename && findNulCharacter(info.filename) !== null) {
        stream.resume();
        return fail(new ServiceError('INVALID_FIELD', nulCharacterMessage('the file name'), { field: name }));
      }
      if (name !== options.fileField || pending) {
        stream.resume();
        const also = textFiles.length ? ` (${textFiles.map((f) => `\`${f}\``).join(', ')} may be a file or text)` : '';
        return fail(new ServiceError('MULTIPART_INVALID', `unexpected file field \`${name}\`: send exactly one file, in the \`${options.fileField}\` field${also}`));
      }
      active = stream;
      stream.once('end', () => (active = null));
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

/** A small file part as text, at most `maxBytes` (the rest is drained and reported as truncated). */
async function readText(stream: Readable, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (truncated) continue;
    size += chunk.length;
    if (size > maxBytes) truncated = true;
    else chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}
