// nova/exception.py: each error with its upstream message template and HTTP code.
import { SimError } from '../common/errors.js';

export class NovaException extends SimError {
  constructor(kind: string, message: string, readonly code = 500) {
    super(kind, message);
  }
}

export class Invalid extends NovaException {
  constructor(kind: string, message: string) {
    super(kind, message, 400);
  }
}

export class InvalidInput extends Invalid {
  constructor(reason: string) {
    super('InvalidInput', `Invalid input received: ${reason}`);
  }
}

export class InvalidVolume extends Invalid {
  constructor(reason: string) {
    super('InvalidVolume', `Invalid volume: ${reason}`);
  }
}

export class InvalidDevicePath extends Invalid {
  constructor(path: string) {
    super('InvalidDevicePath', `The supplied device path (${path}) is invalid.`);
  }
}

export class DevicePathInUse extends NovaException {
  constructor(path: string) {
    super('DevicePathInUse', `The supplied device path (${path}) is in use.`, 409);
  }
}

export class NotFound extends NovaException {
  constructor(kind: string, message: string) {
    super(kind, message, 404);
  }
}

export class InstanceNotFound extends NotFound {
  constructor(instanceId: string) {
    super('InstanceNotFound', `Instance ${instanceId} could not be found.`);
  }
}

export class VolumeNotFound extends NotFound {
  constructor(volumeId: string) {
    super('VolumeNotFound', `Volume ${volumeId} could not be found.`);
  }
}

export class FlavorNotFound extends NotFound {
  constructor(flavorId: string) {
    super('FlavorNotFound', `Flavor ${flavorId} could not be found.`);
  }
}

export class ImageNotFound extends NotFound {
  constructor(imageId: string) {
    super('ImageNotFound', `Image ${imageId} could not be found.`);
  }
}

export class DiskNotFound extends NotFound {
  constructor(location: string) {
    super('DiskNotFound', `No disk at ${location}`);
  }
}

export class VolumeBDMNotFound extends NotFound {
  constructor(volumeId: string) {
    super('VolumeBDMNotFound', `No volume Block Device Mapping with id ${volumeId}.`);
  }
}

export class InstanceActionNotFound extends NovaException {
  constructor(requestId: string, instanceUuid: string) {
    super('InstanceActionNotFound', `Action for request_id ${requestId} on instance ${instanceUuid} not found`);
  }
}

/** (novasim's actions have no numeric id: the action is named by its request id) */
export class InstanceActionEventNotFound extends NovaException {
  constructor(event: string, actionId: string) {
    super('InstanceActionEventNotFound', `Event ${event} not found for action id ${actionId}`);
  }
}

export class VolumeUnattached extends NovaException {
  constructor(volumeId: string) {
    super('VolumeUnattached', `Volume ${volumeId} is not attached to anything`, 400);
  }
}

export class InstanceIsLocked extends NovaException {
  constructor(instanceUuid: string) {
    super('InstanceIsLocked', `Instance ${instanceUuid} is locked`, 409);
  }
}

export class InstanceInvalidState extends NovaException {
  constructor(
    readonly instanceUuid: string,
    readonly attr: string,
    readonly state: string,
    readonly method: string,
  ) {
    super(
      'InstanceInvalidState',
      `Instance ${instanceUuid} in ${attr} ${state}. Cannot ${method} while the instance is in this state.`,
      409,
    );
  }
}

export class PolicyNotAuthorized extends NovaException {
  constructor(action: string) {
    super('PolicyNotAuthorized', `Policy doesn't allow ${action} to be performed.`, 403);
  }
}

/** Python's NotImplementedError, as the libvirt driver raises it */
export class NotImplementedErrorPy extends SimError {
  constructor(message: string) {
    super('NotImplementedError', message);
  }
}

export class NovaGeneric extends NovaException {
  constructor(message: string) {
    super('NovaException', message, 500);
  }
}
