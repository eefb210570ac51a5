// ES module entry: the same API as index.js.
import roster from './index.js'

export const {
  Client,
  Publisher,
  Subscriber,
  SubscriberData,
  RosterError,
  InvalidArgumentError,
  NotConnectedError,
  TimeoutError,
  RefusedError,
  NotLeaderError,
  NotFoundError,
  ShutDownError,
  IoError,
  UnauthenticatedError,
  PermissionDeniedError,
  InternalError,
} = roster
export default roster
