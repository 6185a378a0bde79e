import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { storedBlobFiles, temporaryBlobFiles } from '../utils/blob-files';
import { startServerProcess, type ServerProcess } from '../utils/server-process';
import { streamZerosCheckpoint } from '../utils/streaming-upload';
import { ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../utils/swift-s3';
import { auth, databaseLabel, makeDataDir, resetPostgres, s3PrefixOf, testDatabaseUrl, testS3 } from '../utils/test-app';
import { waitFor } from '../utils/wait-for';

describe(`crash safety with a real server process (${databaseLabel()})`, () => {
  let dataDir: string;
  let server: ServerProcess | null = null;
  beforeEach(async () => {
    dataDir = await makeDataDir();
    const db = testDatabaseUrl();
    if (db) await resetPostgres(db);
  });
  afterEach(async () => {
    await server?.kill('SIGKILL');
    server = null;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a SIGKILL in the middle of a large upload leaves no row and no blob; the next start removes the temporary file', async () => {
    server = await startServerProcess(dataDir);
    const upload = streamZerosCheckpoint(server.url, 64 * 1024 * 1024, { pauseAfter: 96 * 1024 * 1024 });
    upload.done.catch(() => undefined);
    // Wait until the server has written a good part of the upload to its temporary file.
    await waitFor('temporary upload file', async () => ((await temporaryBlobFiles(dataDir)).length > 0 && upload.sent() > 64 * 1024 * 1024 ? true : undefined));
    await server.kill('SIGKILL');
    expect(await storedBlobFiles(dataDir)).toEqual([]);
    expect((await temporaryBlobFiles(dataDir)).length).toBe(1);

    server = await startServerProcess(dataDir);
    expect(await temporaryBlobFiles(dataDir)).toEqual([]);
    const list = await request(server.url).get('/v1/checkpoints').set(auth()).expect(200);
    expect(list.body.items).toEqual([]);
    // The service still works after the crash.
    const ok = await streamZerosCheckpoint(server.url, 1024).done;
    expect(ok.status).toBe(201);
  });

  if (testS3()) {
    it('a SIGKILL while the bytes go to S3 leaves no object under a real key and no row; the next start aborts the parts', async () => {
      const s3 = testS3()!;
      const client = s3Client(s3.endpoint);
      const uploads = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: s3PrefixOf(dataDir) }))).Uploads ?? [];
      server = await startServerProcess(dataDir);
      // 512 MiB: validated in a moment, then published as a multipart upload of 64 parts.
      const upload = streamZerosCheckpoint(server.url, 128 * 1024 * 1024);
      upload.done.catch(() => undefined);
      await waitFor('the multipart upload to S3', async () => ((await uploads()).length > 0 ? true : undefined), 120_000);
      await server.kill('SIGKILL');
      expect((await storedBlobFiles(dataDir)).filter((k) => !k.startsWith('upload:'))).toEqual([]);
      expect(await uploads()).toHaveLength(1);

      server = await startServerProcess(dataDir, { WEIGHTSMITH_S3_ABANDONED_UPLOAD_MS: '0' });
      expect(await storedBlobFiles(dataDir)).toEqual([]);
      expect(await temporaryBlobFiles(dataDir)).toEqual([]);
      expect((await request(server.url).get('/v1/checkpoints').set(auth()).expect(200)).body.items).toEqual([]);
    });
  }

  it('the next start removes bytes published under a real name that no row records, and keeps recorded ones', async () => {
    server = await startServerProcess(dataDir);
    const created = await streamZerosCheckpoint(server.url, 1024, { name: 'kept' }).done;
    expect(created.status).toBe(201);
    const kept = (JSON.parse(created.body) as { sha256: string }).sha256;
    await server.kill('SIGKILL');
    // What a crash between publishing and recording leaves: bytes under their digest, no row.
    const orphan = Buffer.from('published, never recorded');
    const sha = createHash('sha256').update(orphan).digest('hex');
    const s3 = testS3();
    if (s3) {
      await s3Client(s3.endpoint).send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${s3PrefixOf(dataDir)}sha256/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`, Body: orphan }));
    } else {
      const dir = join(dataDir, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2, 4));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, sha), orphan);
    }
    expect((await storedBlobFiles(dataDir)).map((p) => p.slice(-64)).sort()).toEqual([kept, sha].sort());
    server = await startServerProcess(dataDir);
    expect((await storedBlobFiles(dataDir)).map((p) => p.slice(-64))).toEqual([kept]);
    expect((await request(server.url).get('/v1/checkpoints').set(auth()).expect(200)).body.items).toHaveLength(1);
  });

  it('a stored checkpoint survives a SIGKILL and a restart', async () => {
    server = await startServerProcess(dataDir);
    const created = await streamZerosCheckpoint(server.url, 256 * 1024, { name: 'survivor' }).done;
    expect(created.status).toBe(201);
    const { id, sha256 } = JSON.parse(created.body) as { id: string; sha256: string };
    await server.kill('SIGKILL');
    server = await startServerProcess(dataDir);
    const listed = await request(server.url).get('/v1/checkpoints').set(auth()).expect(200);
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    const got = await request(server.url).get(`/v1/checkpoints/${id}`).set(auth()).expect(200);
    expect(got.body.sha256).toBe(sha256);
    const head = await request(server.url).head(`/v1/checkpoints/${id}/weights`).set(auth()).expect(200);
    expect(head.headers.etag).toBe(`"${sha256}"`);
  });

  it('a job running when its process is killed is re-queued after restart and completes', async () => {
    const jobEnv = { WEIGHTSMITH_JOB_HEARTBEAT_MS: '100', WEIGHTSMITH_JOB_STALE_AFTER_MS: '1000' };
    server = await startServerProcess(dataDir, jobEnv);
    // 256 Mi elements (1 GiB): statistics take long enough to kill the job while it runs.
    const created = await streamZerosCheckpoint(server.url, 256 * 1024 * 1024, { name: 'big' }).done;
    expect(created.status).toBe(201);
    const { id } = JSON.parse(created.body) as { id: string };
    const started = await request(server.url).post(`/v1/checkpoints/${id}/statistics`).set(auth()).expect(202);
    const jobId = started.body.id as string;
    const url = server.url;
    await waitFor('job to run', async () => {
      const job = (await request(url).get(`/v1/jobs/${jobId}`).set(auth())).body as { status: string };
      if (job.status === 'succeeded') throw new Error('job finished before it could be killed');
      return job.status === 'running' ? true : undefined;
    });
    await server.kill('SIGKILL');

    server = await startServerProcess(dataDir, jobEnv);
    const url2 = server.url;
    const finished = await waitFor(
      'job to finish after restart',
      async () => {
        const job = (await request(url2).get(`/v1/jobs/${jobId}`).set(auth())).body as { status: string; attempts: number; result: { tensors: Record<string, { zeroFraction: number }> } };
        return ['succeeded', 'failed'].includes(job.status) ? job : undefined;
      },
      120_000,
    );
    expect(finished.status).toBe('succeeded');
    expect(finished.attempts).toBe(2);
    expect(finished.result.tensors.w.zeroFraction).toBe(1);

    // A running job stops at its next heartbeat once cancelled.
    const second = (await request(url2).post(`/v1/checkpoints/${id}/statistics`).set(auth()).expect(202)).body.id as string;
    await waitFor('second job to run', async () => ((await request(url2).get(`/v1/jobs/${second}`).set(auth())).body.status === 'running' ? true : undefined));
    const cancelling = await request(url2).delete(`/v1/jobs/${second}`).set(auth()).expect(202);
    expect(cancelling.body.cancelRequested).toBe(true);
    const cancelled = await waitFor('job to stop', async () => {
      const job = (await request(url2).get(`/v1/jobs/${second}`).set(auth())).body as { status: string; error: { code: string } | null };
      return job.status === 'running' ? undefined : job;
    });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error?.code).toBe('JOB_CANCELLED');
    // The checkpoint can be deleted once no job uses it.
    await request(url2).delete(`/v1/checkpoints/${id}`).set(auth()).expect(204);
  });
});
