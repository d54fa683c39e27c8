// catalog: gRPC server (Catalog.ListProducts / GetProduct) on :50051.
import { count, grpc, loadShopProto, startAdmin } from './lib.js';

const PRODUCTS = [
  { id: 'OLJCESPC7Z', name: 'Sunglasses', priceCents: 1999 },
  { id: '66VCHSJNUP', name: 'Tank Top', priceCents: 1899 },
  { id: '1YMWWN1N4O', name: 'Watch', priceCents: 10999 },
  { id: 'L9ECAV7KIM', name: 'Loafers', priceCents: 8999 },
];

export function startCatalog(): void {
  startAdmin('catalog');
  const shop = loadShopProto();
  const server = new grpc.Server();
  server.addService(shop.Catalog.service, {
    listProducts: (_call: any, cb: any) => {
      count('ListProducts');
      cb(null, { products: PRODUCTS });
    },
    getProduct: (call: any, cb: any) => {
      count('GetProduct');
      const p = PRODUCTS.find((x) => x.id === call.request.id);
      if (p) cb(null, p);
      else cb({ code: grpc.status.NOT_FOUND, message: `no product ${call.request.id}` });
    },
  });
  server.bindAsync('0.0.0.0:50051', grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    console.log('catalog gRPC on :50051');
  });
}

export { PRODUCTS };
