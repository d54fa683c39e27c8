// Entry point of the shop bundle: `node shop.mjs SERVICE` runs one service of the demo.
import { startCatalog } from './catalog.js';
import { startCart } from './cart.js';
import { startFrontend } from './frontend.js';
import { startCheckout } from './checkout.js';
import { startPayments, startMeshProxy } from './payments.js';
import { startShipping } from './shipping.js';
import { startPartner } from './partner.js';
import { startKafka } from './kafka.js';
import { startLoadgen } from './loadgen.js';

const services: Record<string, () => void | Promise<void>> = {
  catalog: startCatalog, cart: startCart, frontend: startFrontend, checkout: startCheckout, payments: startPayments,
  'istio-proxy': startMeshProxy, shipping: startShipping, 'partner-rates': startPartner, kafka: startKafka, loadgenerator: startLoadgen,
};

const name = process.argv[2] ?? '';
const start = services[name];
if (!start) {
  console.error(`unknown shop service "${name}"; one of: ${Object.keys(services).join(', ')}`);
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
void start();
