import { UsageError } from '../cli-io';
import { importBuiltinDataset } from './dataset-import';

function fakeFetch(status: number, body: string) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body, { status });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

describe('importBuiltinDataset', () => {
  it('posts the builtin name, seed and name as JSON with the API key, and returns the stored dataset', async () => {
    const { impl, calls } = fakeFetch(201, '{"id":"x","name":"digits"}');
    await expect(importBuiltinDataset('mnist', { server: 'http://h:1/', apiKey: 'k', seed: 3, name: 'digits' }, impl)).resolves.toEqual({ id: 'x', name: 'digits' });
    expect(calls[0].url).toBe('http://h:1/v1/datasets');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ builtin: 'mnist', seed: 3, name: 'digits' });
    expect(calls[0].init.headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/json' });
  });

  it('reports a refusal with the server code, and a bad URL as a usage error', async () => {
    const { impl } = fakeFetch(401, '{"code":"UNAUTHENTICATED","detail":"no key"}');
    await expect(importBuiltinDataset('mnist', { server: 'http://h:1' }, impl)).rejects.toThrow('HTTP 401 UNAUTHENTICATED: no key');
    await expect(importBuiltinDataset('mnist', { server: 'ftp://h' }, impl)).rejects.toBeInstanceOf(UsageError);
  });
});
