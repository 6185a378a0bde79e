import { Injectable } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../core/io/project-root';
import { TensorRuntime } from '../../infra/tensor-runtime/tensor-runtime.module';
import { HealthService } from '../health/health.service';
import type { Deployment } from './deployment.types';
import { DeploymentsService } from './deployments.service';
import { InferenceMetrics, UNKNOWN_MODEL_LABEL } from './inference-metrics';
import { metadataShape, checkRequestInputs, type TensorSpec } from './model-signature';
import { checkRequestedOutputs, decodeInferRequest, encodeInferResponse, type EncodedResponse } from './oip-codec';
import { toOipError } from './oip-error.filter';
import { datatypeOf } from './oip-tensors';

/** Extensions of the protocol this server implements (and only those). */
export const OIP_EXTENSIONS = ['binary_tensor_data'];

export interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
}

const PLATFORMS: Record<string, string> = { tfjs: 'weightsmith_tfjs', onnxruntime: 'onnxruntime_onnx' };

export function tensorMetadata(spec: TensorSpec): OipTensorMetadata {
  return { name: spec.name, datatype: datatypeOf(spec.dtype), shape: metadataShape(spec) };
}

/** The Open Inference Protocol over the deployed models: metadata, health and infer. */
@Injectable()
export class InferenceService {
  private readonly version: string;

  constructor(
    private readonly deployments: DeploymentsService,
    private readonly metrics: InferenceMetrics,
    private readonly health: HealthService,
    private readonly runtime: TensorRuntime,
  ) {
    this.version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: 'weightsmith', version: this.version, extensions: OIP_EXTENSIONS };
  }

  /** Ready when the database, blob store and tensor backend are (the /health/ready checks). */
  async serverReady(): Promise<boolean> {
    return (await this.health.readiness()).ready;
  }

  modelMetadata(name: string, version?: string): OipModelMetadata {
    const d = this.deployments.model(name, version).deployment;
    return {
      name: d.name,
      versions: [d.version],
      platform: PLATFORMS[d.engine],
      inputs: d.signature.inputs.map(tensorMetadata),
      outputs: d.signature.outputs.map(tensorMetadata),
    };
  }

  /** A loaded model is ready; an unknown one is a 404, so no false case exists yet. */
  modelReady(name: string, version?: string): boolean {
    this.deployments.model(name, version);
    return this.runtime.status().ready;
  }

  /**
   * Decodes, checks (400s before anything queues), queues for a batch, and encodes the answer;
   * counts the request by status and times the successful ones.
   */
  async infer(name: string, version: string | undefined, body: Buffer | Record<string, unknown>, headerLength: string | undefined): Promise<EncodedResponse> {
    const started = performance.now();
    let model: Deployment | undefined;
    try {
      const loaded = this.deployments.model(name, version);
      model = loaded.deployment;
      const request = decodeInferRequest(body, headerLength);
      const checked = checkRequestInputs(model.signature, request.inputs, model.batching.maxBatchSize);
      checkRequestedOutputs(model.signature, request);
      const results = await loaded.batcher.submit(checked.tensors, checked.rows, checked.batchKey);
      const encoded = encodeInferResponse(model.name, model.version, request, model.signature, results);
      this.metrics.requests.inc({ model: name, status: '200' });
      this.metrics.latency.observe({ model: name }, (performance.now() - started) / 1000);
      return encoded;
    } catch (error) {
      this.metrics.requests.inc({ model: model ? name : UNKNOWN_MODEL_LABEL, status: String(toOipError(error).status) });
      throw error;
    }
  }
}
