// The ipamd datastore (docs/architecture.md#datastore): one per network card; pure state, persisted by
// ../persistence.
export { Datastore, type DatastoreOptions } from './datastore.js';
export { CardAssignError, CardStores, type CardAssigned, type CardReleased } from './cards.js';
export type { IpStats } from './address-rules.js';
export { DatastoreError, NO_AVAILABLE, UNKNOWN_POD } from './errors.js';
export * from './types.js';
