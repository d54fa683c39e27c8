// frontend: HTTP/1.1 on :8080. Calls catalog and cart over gRPC (through their ClusterIPs),
// checkout over HTTP/2 (h2c), and the partner's currency rates by DNS name.
import http from 'node:http';
import http2 from 'node:http2';
import { count, grpc, loadShopProto, serviceAddr, startAdmin } from './lib.js';

const RATES_URL = 'http://rates.partner.example/rates';

export function startFrontend(): void {
  startAdmin('frontend');
  const shop = loadShopProto();
  const addr = (s: string) => `${serviceAddr(s).host}:${serviceAddr(s).port}`;
  const catalog = new shop.Catalog(addr('catalog'), grpc.credentials.createInsecure());
  const cart = new shop.CartService(addr('cart'), grpc.credentials.createInsecure());
  const call = <T>(client: any, method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method](req, { deadline: Date.now() + 3000 }, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
  let checkoutSession: http2.ClientHttp2Session | undefined;
  const checkout = (body: unknown): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    if (!checkoutSession || checkoutSession.destroyed || checkoutSession.closed) {
      const { host, port } = serviceAddr('checkout');
      checkoutSession = http2.connect(`http://${host}:${port}`);
      checkoutSession.on('error', () => (checkoutSession = undefined));
    }
    const req = checkoutSession.request({ ':method': 'POST', ':path': '/orders', 'content-type': 'application/json' });
    let status = 0;
    let text = '';
    req.setTimeout(5000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => (text += d));
    req.on('end', () => resolve({ status, body: text }));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  const rates = (): Promise<string> => new Promise((resolve, reject) => {
    http.get(RATES_URL, { timeout: 3000 }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(t));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timeout')); });
  });

  http.createServer(async (req, res) => {
    count('requests');
    const url = new URL(req.url ?? '/', 'http://frontend');
    const user = url.searchParams.get('user') ?? 'anonymous';
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (url.pathname === '/') {
        const list = await call<any>(catalog, 'listProducts', {});
        count('catalog_calls');
        let currency: unknown = null;
        try {
          currency = JSON.parse(await rates());
          count('rates_calls');
        } catch (err) {
          count('rates_errors');
          currency = { error: (err as Error).message };
        }
        return reply(200, { products: list.products, currency });
      }
      const product = /^\/product\/(\w+)$/.exec(url.pathname);
      if (product) {
        count('catalog_calls');
        return reply(200, await call(catalog, 'getProduct', { id: product[1] }));
      }
      if (url.pathname === '/cart' && req.method === 'POST') {
        count('cart_calls');
        await call(cart, 'addItem', { userId: user, item: { productId: url.searchParams.get('product') ?? 'OLJCESPC7Z', quantity: 1 } });
        return reply(200, await call(cart, 'getCart', { userId: user }));
      }
      if (url.pathname === '/checkout' && req.method === 'POST') {
        count('cart_calls');
        const c = await call<any>(cart, 'getCart', { userId: user });
        count('checkout_calls');
        const r = await checkout({ user, items: c.items });
        if (r.status === 200) await call(cart, 'emptyCart', { userId: user });
        return reply(r.status, JSON.parse(r.body || '{}'));
      }
      reply(404, { error: 'not found' });
    } catch (err) {
      count('errors');
      reply(502, { error: (err as Error).message });
    }
  }).listen(8080, '0.0.0.0');
  console.log('frontend on :8080');
}
