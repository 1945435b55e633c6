/** node:crypto in the page: the protocol's hashed ids are made by coordinators, never by the page. */
export function createHash(): never {
  throw new Error('node:crypto is not available in the dashboard page');
}
