/**
 * A supertest parser that collects a binary response body into one Buffer:
 * `request(url).get(path).buffer(true).parse(binaryBody as never)`.
 */
export function binaryBody(res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}
