// Runs node-media-server (npm, v4) for the load benchmark: node bench/nms-server.mjs RTMP_PORT HTTP_PORT DATA_DIR
// RTMP on 127.0.0.1 with its defaults (GOP cache on, out chunk size 65535: not configurable in v4),
// HTTP-FLV on HTTP_PORT, no admin console, no API, no TLS listeners; logging at "warn" like the other servers.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const NodeMediaServer = require('node-media-server');
const logger = require('node-media-server/src/core/logger.js');

const [rtmpPort, httpPort, dir] = process.argv.slice(2);
const config = {
  bind: '127.0.0.1',
  notify: { url: '' },
  store: { path: `${dir}/data` },
  auth: { play: false, publish: false, secret: 'bench' },
  rtmp: { port: Number(rtmpPort) },
  http: { port: Number(httpPort) },
  webadmin: { enable: false },
  record: { auto: false, path: `${dir}/record` },
};

const nms = new NodeMediaServer(config, `${dir}/config.json`);
logger.level = 'warn'; // the constructor sets "debug"
nms.run();

const stop = () => {
  nms.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
