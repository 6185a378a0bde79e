import { randomBytes } from 'node:crypto';
import { freePort } from '../utils/server-process';
import { s3Client, startSwift, type SwiftS3 } from '../utils/swift-s3';
import { CreateBucketCommand } from '@aws-sdk/client-s3';

declare global {
  var __WEIGHTSMITH_E2E_SWIFT__: SwiftS3 | undefined;
}

/** With TEST_BLOB_STORE=s3 the pass runs on a Swift s3api started here, in a bucket of its own. */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_BLOB_STORE !== 's3') return;
  const swift = await startSwift(await freePort());
  globalThis.__WEIGHTSMITH_E2E_SWIFT__ = swift;
  const bucket = `ws-e2e-${randomBytes(4).toString('hex')}`;
  await s3Client(swift.endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
  process.env.TEST_S3_ENDPOINT = swift.endpoint;
  process.env.TEST_S3_BUCKET = bucket;
}
