import { serveWorkerTask } from '../../infra/workers/worker-task';
import { ingestDataset, type DatasetIngestInput } from './dataset-ingest';

// Worker thread: decodes an uploaded dataset file or archive (or loads a builtin), computes its
// splits and statistics and streams the stored dataset file to the caller's staged writer, so
// that neither the decoding nor the 70,000-image builtins stall the server's event loop.
serveWorkerTask(async (input: DatasetIngestInput, io) => {
  if (!io.output) throw new Error('the dataset worker streams its result: give runInWorker an output');
  return ingestDataset(input, io.output);
});
