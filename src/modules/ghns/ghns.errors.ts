import { ServiceError } from '../../core/service-error';
import { describeReferences, referenceDetails, type References } from '../../infra/references/reference-registry';

export function ghnNotFound(id: string): ServiceError {
  return new ServiceError('GHN_NOT_FOUND', `GHN ${id} does not exist`);
}

export function ghnNameTaken(name: string, ghnId?: string): ServiceError {
  return new ServiceError('GHN_NAME_TAKEN', `a GHN named ${JSON.stringify(name)} already exists; choose another name or delete it first`, {
    name,
    ...(ghnId ? { ghnId } : {}),
  });
}

export function ghnInUse(id: string, refs: readonly References[]): ServiceError {
  const what = refs.length > 0 ? describeReferences(refs) : 'a record made while it was being deleted';
  return new ServiceError('GHN_IN_USE', `GHN ${id} is referenced by ${what}; delete them first`, referenceDetails(refs));
}
