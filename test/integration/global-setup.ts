import { freePort } from '../utils/server-process';
import { startSwift, type SwiftS3 } from '../utils/swift-s3';

declare global {
  var __WEIGHTSMITH_SWIFT__: SwiftS3 | undefined;
}

/** One Swift s3api for the tier: its endpoint reaches the specs as TEST_S3_ENDPOINT. */
export default async function globalSetup(): Promise<void> {
  const swift = await startSwift(await freePort());
  globalThis.__WEIGHTSMITH_SWIFT__ = swift;
  process.env.TEST_S3_ENDPOINT = swift.endpoint;
}
