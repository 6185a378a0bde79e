import { Injectable } from '@nestjs/common';
import { numElements } from '../../core/tensor/dtypes';
import { buildZooModel, zooFamily, zooNames } from '../../core/graph/zoo';

export interface ZooModel {
  name: string;
  family: string;
  modelClass: string | null;
  /** Trainable parameters with the default arguments (1000 classes; 10 for the CIFAR-style models). */
  parameterCount: number;
  /** Declared input shape, e.g. ['batch', 3, 224, 224]. */
  inputShape: (number | string)[];
}

/**
 * The built-in zoo (torchvision's classifiers and small CIFAR-style ResNets) with parameter counts. Building all ~75 graphs takes a few hundred
 * milliseconds, so it is done once, on first use, yielding to the event loop between models.
 */
@Injectable()
export class ZooCatalog {
  private catalog: Promise<ZooModel[]> | null = null;

  list(): Promise<ZooModel[]> {
    this.catalog ??= this.build().catch((e: unknown) => {
      this.catalog = null;
      throw e;
    });
    return this.catalog;
  }

  private async build(): Promise<ZooModel[]> {
    const models: ZooModel[] = [];
    for (const name of zooNames()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const graph = buildZooModel(name);
      models.push({
        name,
        family: zooFamily(name),
        modelClass: graph.modelClass ?? null,
        parameterCount: graph.initializers.reduce((n, t) => n + (t.isParameter ? numElements(t.shape) : 0), 0),
        inputShape: [...(graph.inputs[0]?.shape ?? [])],
      });
    }
    return models;
  }
}
