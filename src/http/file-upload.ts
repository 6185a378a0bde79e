import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { receiveMultipart } from './multipart-upload';

/** Where an uploaded file goes while it arrives (a module's staging), and how to undo it. */
export interface UploadSink<T> {
  stage(stream: Readable): Promise<T>;
  discard(stored: T): Promise<void>;
}

export interface ReceivedFileUpload<T> {
  /** Null when the form had no `file` part. */
  file: { stored: T; filename: string } | null;
  fields: Record<string, string>;
}

/** Limits of the text fields that come with an upload. */
export interface UploadFieldLimits {
  maxFieldBytes: number;
  maxFields: number;
  /** Text fields that may also be sent as a (small) file part, e.g. `-F config=@config.json`. */
  textFileFields?: readonly string[];
}

const DEFAULT_FIELD_LIMITS: UploadFieldLimits = { maxFieldBytes: 256 * 1024, maxFields: 20 };

/**
 * Receives a multipart/form-data upload: the `file` part streams into `sink` as it arrives, the
 * text fields are collected. Controllers call this and hand plain values to their service.
 */
export async function receiveFileUpload<T>(req: Request, sink: UploadSink<T>, limits: Partial<UploadFieldLimits> = {}): Promise<ReceivedFileUpload<T>> {
  const { fields, file } = await receiveMultipart<T>(req, {
    fileField: 'file',
    ...DEFAULT_FIELD_LIMITS,
    ...limits,
    consume: (stream) => sink.stage(stream),
    release: (stored) => sink.discard(stored),
  });
  return { fields, file: file ? { stored: file.stored, filename: file.filename } : null };
}
