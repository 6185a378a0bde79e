import { parseGraphJson } from '../../core/graph/graph-json';
import { renderGraphSvg } from '../../core/graph/graph-svg';
import { serveWorkerTask } from '../../infra/workers/worker-task';

// Worker thread: canonical graph JSON in, SVG text out (Graphviz layout is synchronous and can be slow).
serveWorkerTask((graph: unknown) => renderGraphSvg(parseGraphJson(graph)));
