// cart: gRPC server (CartService) on :50052 keeping carts in a real redis-server.
import { count, grpc, loadShopProto, retry, serviceAddr, startAdmin } from './lib.js';
import { Redis } from './redis.js';

export function startCart(): void {
  startAdmin('cart');
  const { host, port } = serviceAddr('redis');
  const redis = new Redis(host, port);
  const shop = loadShopProto();
  const server = new grpc.Server();
  const fail = (cb: any) => (err: Error) => {
    count('redis_errors');
    cb({ code: grpc.status.UNAVAILABLE, message: err.message });
  };
  server.addService(shop.CartService.service, {
    addItem: (call: any, cb: any) => {
      count('AddItem');
      const { userId, item } = call.request;
      redis.command('HINCRBY', `cart:${userId}`, item.productId, item.quantity).then(() => {
        count('redis_commands');
        cb(null, {});
      }, fail(cb));
    },
    getCart: (call: any, cb: any) => {
      count('GetCart');
      redis.command('HGETALL', `cart:${call.request.userId}`).then((r) => {
        count('redis_commands');
        const flat = (r as string[]) ?? [];
        const items = [];
        for (let i = 0; i + 1 < flat.length; i += 2) items.push({ productId: flat[i], quantity: Number(flat[i + 1]) });
        cb(null, { userId: call.request.userId, items });
      }, fail(cb));
    },
    emptyCart: (call: any, cb: any) => {
      count('EmptyCart');
      redis.command('DEL', `cart:${call.request.userId}`).then(() => {
        count('redis_commands');
        cb(null, {});
      }, fail(cb));
    },
  });
  void retry('redis', () => redis.connect()).then(() => console.log('cart connected to redis'));
  server.bindAsync('0.0.0.0:50052', grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    console.log('cart gRPC on :50052');
  });
}
