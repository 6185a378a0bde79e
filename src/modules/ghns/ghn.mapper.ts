import type { GhnDto } from './dto/ghn.dto';
import { ghnSettings } from './ghn-config-document';
import type { GhnModel } from './ghn.types';

export function toGhnDto(ghn: GhnModel, defaultId: string | null): GhnDto {
  const settings = ghnSettings(ghn.config);
  return {
    id: ghn.id,
    name: ghn.name,
    checkpointId: ghn.checkpointId,
    config: { impl: ghn.config.impl, graph_builder: ghn.config.graph_builder, ctor_config: { ...ghn.config.ctor_config } },
    impl: settings.impl,
    isGhn2: settings.isGhn2,
    hid: settings.hid,
    layers: settings.layers,
    parameterCount: ghn.parameterCount,
    source: ghn.source,
    sourceSha256: ghn.sourceSha256,
    isDefault: ghn.id === defaultId,
    createdAt: ghn.createdAt.toISOString(),
  };
}
