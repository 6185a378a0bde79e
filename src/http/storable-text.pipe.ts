import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { findNulCharacter, nulCharacterMessage } from '../core/storable-text';
import { ServiceError } from '../core/service-error';

const SOURCES: Partial<Record<ArgumentMetadata['type'], string>> = { body: 'body', query: 'query', param: 'path parameter' };

/**
 * Refuses a request body, query string or path parameter with a NUL character (U+0000) anywhere:
 * neither database can store one, so it is a 400 VALIDATION_FAILED before any handler runs.
 * Registered globally, ahead of the ValidationPipe.
 */
@Injectable()
export class StorableTextPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const source = SOURCES[metadata.type];
    if (!source) return value;
    const found = findNulCharacter(value, metadata.type === 'param' ? (metadata.data ?? '') : '');
    if (found !== null) {
      const where = found === 'the value' ? `the ${source}` : `${source} ${found}`;
      throw new ServiceError('VALIDATION_FAILED', nulCharacterMessage(where), { field: found });
    }
    return value;
  }
}
