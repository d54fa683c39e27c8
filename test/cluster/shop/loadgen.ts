// loadgenerator: a light, steady stream of shoppers against the frontend over HTTP/1.1
// (a few requests per second: browse, view a product, add to cart, sometimes check out).
import http from 'node:http';
import { count, serviceAddr, sleep } from './lib.js';
import { startAdmin } from './lib.js';

const PRODUCTS = ['OLJCESPC7Z', '66VCHSJNUP', '1YMWWN1N4O', 'L9ECAV7KIM'];
const INTERVAL_MS = Number(process.env.LOAD_INTERVAL_MS ?? 700);

function request(method: string, path: string): Promise<number> {
  const { host, port } = serviceAddr('frontend');
  return new Promise((resolve) => {
    const req = http.request({ host, port, method, path, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startLoadgen(): Promise<void> {
  startAdmin('loadgenerator');
  for (let i = 0; ; i++) {
    const user = `user-${i % 5}`;
    const product = PRODUCTS[i % PRODUCTS.length]!;
    const step = i % 4;
    const status = step === 0 ? await request('GET', '/')
      : step === 1 ? await request('GET', `/product/${product}`)
      : step === 2 ? await request('POST', `/cart?user=${user}&product=${product}`)
      : await request('POST', `/checkout?user=${user}`);
    count('requests');
    count(status >= 200 && status < 400 ? 'ok' : 'failed');
    await sleep(INTERVAL_MS);
  }
}
