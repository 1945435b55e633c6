export {
  startServer,
  startCluster,
  freePort,
  waitForJetStream,
  type NatsServer,
  type NatsCluster,
  type ServerOptions,
} from './server.js';
export { natsCli, type CliResult } from './nats-cli.js';
export { natsServerBin, natsCliBin, pinnedVersions, type PinnedVersions } from './tools.js';
export { makeDevCertificates, type DevCertificates } from './certs.js';
