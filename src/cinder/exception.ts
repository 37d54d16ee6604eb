// cinder/exception.py: the errors Cinder's API turns into HTTP faults.
import { SimError } from '../common/errors.js';

export class CinderException extends SimError {
  constructor(kind: string, message: string, readonly code: number) {
    super(kind, message);
  }
}

export class VolumeNotFound extends CinderException {
  constructor(volumeId: string) {
    super('VolumeNotFound', `Volume ${volumeId} could not be found.`, 404);
  }
}

export class VolumeTypeNotFound extends CinderException {
  constructor(volumeTypeId: string) {
    super('VolumeTypeNotFound', `Volume type ${volumeTypeId} could not be found.`, 404);
  }
}

export class InvalidVolume extends CinderException {
  constructor(reason: string) {
    super('InvalidVolume', `Invalid volume: ${reason}`, 400);
  }
}

export class InvalidInput extends CinderException {
  constructor(reason: string) {
    super('InvalidInput', `Invalid input received: ${reason}`, 400);
  }
}

export class PolicyNotAuthorized extends CinderException {
  constructor(action: string) {
    super('PolicyNotAuthorized', `Policy doesn't allow ${action} to be performed.`, 403);
  }
}

export class VolumeAttachmentNotFound extends CinderException {
  constructor(filter: string) {
    super('VolumeAttachmentNotFound', `Volume attachment could not be found with filter: ${filter}.`, 404);
  }
}

/** QuotaError: a 413 with Retry-After: 0 (cinder/exception.py) */
export class QuotaError extends CinderException {
  readonly headers = { 'Retry-After': '0' };
  constructor(kind: string, message: string) {
    super(kind, message, 413);
  }
}

export class VolumeSizeExceedsAvailableQuota extends QuotaError {
  constructor(name: string, requested: number, quota: number, consumed: number) {
    super(
      'VolumeSizeExceedsAvailableQuota',
      `Requested volume or snapshot exceeds allowed ${name} quota. Requested ${requested}G, quota is ${quota}G and ${consumed}G has been consumed.`,
    );
  }
}

export class VolumeLimitExceeded extends QuotaError {
  constructor(allowed: number, name = 'volumes') {
    super('VolumeLimitExceeded', `Maximum number of volumes allowed (${allowed}) exceeded for quota '${name}'.`);
  }
}
