import { ServiceError } from '../service-error';

export function ghnNotFound(id: string): ServiceError {
  return new ServiceError('GHN_NOT_FOUND', `GHN ${id} does not exist`);
}

export function ghnNameTaken(name: string, ghnId?: string): ServiceError {
  return new ServiceError('GHN_NAME_TAKEN', `a GHN named ${JSON.stringify(name)} already exists; choose another name or delete it first`, {
    name,
    ...(ghnId ? { ghnId } : {}),
  });
}

export function ghnInUse(id: string, initializationIds: string[]): ServiceError {
  return new ServiceError('GHN_IN_USE', `GHN ${id} is referenced by initialization(s); delete them first`, { referencedBy: initializationIds });
}
